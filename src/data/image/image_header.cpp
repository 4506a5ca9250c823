#include "mae/data/image/image_header.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::data {
namespace {

using Bytes = std::span<const uint8_t>;

// Whether `bytes` holds `size` bytes from `at`, written so that a huge offset from a malformed header cannot wrap.
bool holds(Bytes bytes, uint64_t at, uint64_t size) { return at <= bytes.size() && size <= bytes.size() - at; }

bool holds_text(Bytes bytes, uint64_t at, std::string_view expected) {
  return holds(bytes, at, expected.size()) &&
         std::equal(expected.begin(), expected.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at),
                    [](char wanted, uint8_t byte) { return static_cast<uint8_t>(wanted) == byte; });
}

// An unsigned integer of `size` bytes at `at` (in bounds), most significant byte first or last.
uint64_t big_endian(Bytes bytes, uint64_t at, int size) {
  uint64_t value = 0;
  for (int i = 0; i < size; ++i) {
    value = (value << 8) | bytes[at + i];
  }
  return value;
}

uint64_t little_endian(Bytes bytes, uint64_t at, int size) {
  uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i) {
    value = (value << 8) | bytes[at + i];
  }
  return value;
}

// The first chunk must be IHDR: width and height, 4 bytes each, big-endian.
std::optional<ImageHeader> png_header(Bytes bytes) {
  static constexpr std::string_view signature("\x89PNG\r\n\x1a\n", 8);
  if (!holds_text(bytes, 0, signature) || !holds_text(bytes, 12, "IHDR") || !holds(bytes, 16, 8)) {
    return std::nullopt;
  }
  return ImageHeader{"PNG", static_cast<int64_t>(big_endian(bytes, 16, 4)),
                     static_cast<int64_t>(big_endian(bytes, 20, 4))};
}

bool is_frame_header(uint8_t marker) {  // SOF0-SOF15 but DHT (C4), JPG (C8) and DAC (CC)
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

// The first frame header (SOFn: length, precision, height, width). Markers are found as libjpeg's next_marker finds
// them: bytes up to an 0xFF are skipped, then fill bytes (more 0xFF), and FF 00 is no marker; so garbage between
// segments, which libjpeg decodes through with a warning, does not hide the frame.
std::optional<ImageHeader> jpeg_header(Bytes bytes) {
  if (!holds(bytes, 0, 2) || bytes[0] != 0xFF || bytes[1] != 0xD8) {
    return std::nullopt;
  }
  std::size_t at = 2;
  while (true) {
    while (at < bytes.size() && bytes[at] != 0xFF) {
      ++at;
    }
    while (at < bytes.size() && bytes[at] == 0xFF) {
      ++at;
    }
    if (at >= bytes.size()) {
      return std::nullopt;
    }
    const uint8_t marker = bytes[at++];
    if (is_frame_header(marker)) {
      if (!holds(bytes, at, 7)) {
        return std::nullopt;
      }
      return ImageHeader{"JPEG", static_cast<int64_t>(big_endian(bytes, at + 5, 2)),
                         static_cast<int64_t>(big_endian(bytes, at + 3, 2))};
    }
    if (marker == 0xDA || marker == 0xD9) {  // a scan or the end before any frame: libjpeg refuses it
      return std::nullopt;
    }
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // FF 00, TEM, RSTn, SOI: no length
      continue;
    }
    if (!holds(bytes, at, 2) || big_endian(bytes, at, 2) < 2) {
      return std::nullopt;
    }
    at += big_endian(bytes, at, 2);  // the length counts its own two bytes
  }
}

// As OpenCV's reader: a BITMAPCOREHEADER (12 bytes) has 16-bit sizes, the later ones (36 bytes and more) 32-bit
// signed ones, the height negative for a top-down image.
std::optional<ImageHeader> bmp_header(Bytes bytes) {
  if (!holds_text(bytes, 0, "BM") || !holds(bytes, 14, 4)) {
    return std::nullopt;
  }
  const uint64_t info_size = little_endian(bytes, 14, 4);
  if (info_size == 12 && holds(bytes, 18, 4)) {
    return ImageHeader{"BMP", static_cast<int64_t>(little_endian(bytes, 18, 2)),
                       static_cast<int64_t>(little_endian(bytes, 20, 2))};
  }
  if (info_size >= 36 && holds(bytes, 18, 8)) {
    const auto width = static_cast<int32_t>(little_endian(bytes, 18, 4));
    const auto height = static_cast<int32_t>(little_endian(bytes, 22, 4));
    if (width <= 0) {  // OpenCV refuses it
      return std::nullopt;
    }
    return ImageHeader{"BMP", width, std::abs(static_cast<int64_t>(height))};
  }
  return std::nullopt;
}

// A decimal number of a PBM/PGM/PPM header, after whitespace and # comments, as OpenCV's ReadNumber reads it (which
// refuses one above INT_MAX).
std::optional<int64_t> pnm_number(Bytes bytes, std::size_t& at) {
  while (at < bytes.size() && !(bytes[at] >= '0' && bytes[at] <= '9')) {
    if (bytes[at] == '#') {
      while (at < bytes.size() && bytes[at] != '\n' && bytes[at] != '\r') {
        ++at;
      }
    } else if (bytes[at] == ' ' || (bytes[at] >= '\t' && bytes[at] <= '\r')) {
      ++at;
    } else {
      return std::nullopt;
    }
  }
  if (at >= bytes.size()) {
    return std::nullopt;
  }
  int64_t value = 0;
  for (; at < bytes.size() && bytes[at] >= '0' && bytes[at] <= '9'; ++at) {
    value = value * 10 + (bytes[at] - '0');
    if (value > INT32_MAX) {
      return std::nullopt;
    }
  }
  return value;
}

// P1-P6 (plain or binary PBM, PGM, PPM): the signature, then width and height.
std::optional<ImageHeader> pnm_header(Bytes bytes) {
  if (!holds(bytes, 0, 2) || bytes[0] != 'P' || bytes[1] < '1' || bytes[1] > '6') {
    return std::nullopt;
  }
  std::size_t at = 2;
  const auto width = pnm_number(bytes, at);
  const auto height = width ? pnm_number(bytes, at) : std::nullopt;
  if (!height) {
    return std::nullopt;
  }
  return ImageHeader{"PNM", *width, *height};
}

// The ImageWidth (256) and ImageLength (257) entries of the first directory, SHORT, LONG or LONG8. A classic TIFF
// has a 4-byte directory offset at 4, a 2-byte entry count and 12-byte entries (tag, type, 4-byte count, 4-byte
// value); a BigTIFF an 8-byte offset at 8, an 8-byte count and 20-byte entries (8-byte count and value).
std::optional<ImageHeader> tiff_header(Bytes bytes) {
  const bool little = holds_text(bytes, 0, "II");
  if ((!little && !holds_text(bytes, 0, "MM")) || !holds(bytes, 2, 2)) {
    return std::nullopt;
  }
  const auto read = [&](uint64_t at, int size) {
    return little ? little_endian(bytes, at, size) : big_endian(bytes, at, size);
  };
  const uint64_t version = read(2, 2);
  if (version != 42 && version != 43) {
    return std::nullopt;
  }
  const int word = version == 43 ? 8 : 4;
  const int count_size = version == 43 ? 8 : 2;
  const uint64_t entry_size = 4 + 2 * static_cast<uint64_t>(word);
  if (!holds(bytes, word, word)) {
    return std::nullopt;
  }
  const uint64_t directory = read(word, word);
  if (!holds(bytes, directory, count_size)) {
    return std::nullopt;
  }
  const uint64_t entries = read(directory, count_size);
  std::optional<uint64_t> width;
  std::optional<uint64_t> height;
  for (uint64_t i = 0; i < entries; ++i) {
    const uint64_t entry = directory + count_size + i * entry_size;
    if (!holds(bytes, entry, entry_size)) {
      return std::nullopt;
    }
    const uint64_t tag = read(entry, 2);
    const uint64_t type = read(entry + 2, 2);
    const uint64_t value_at = entry + 4 + word;
    const int value_size = type == 3 ? 2 : type == 4 ? 4 : type == 16 ? 8 : 0;
    if ((tag == 256 || tag == 257) && value_size > 0) {
      (tag == 256 ? width : height) = read(value_at, value_size);
    }
  }
  if (!width || !height || *width > UINT32_MAX || *height > UINT32_MAX) {  // libtiff's sizes are 32-bit
    return std::nullopt;
  }
  return ImageHeader{"TIFF", static_cast<int64_t>(*width), static_cast<int64_t>(*height)};
}

// RIFF....WEBP, then the first chunk: VP8 (lossy: a frame tag, the start code 9D 01 2A, 14-bit width and height),
// VP8L (lossless: the signature 0x2F, then width - 1 and height - 1 in 14 bits each) or VP8X (extended: the canvas,
// width - 1 and height - 1 in 24 bits each).
std::optional<ImageHeader> webp_header(Bytes bytes) {
  if (!holds_text(bytes, 0, "RIFF") || !holds_text(bytes, 8, "WEBP") || !holds(bytes, 12, 18)) {
    return std::nullopt;
  }
  if (holds_text(bytes, 12, "VP8 ") && holds_text(bytes, 23, "\x9d\x01\x2a")) {
    return ImageHeader{"WebP", static_cast<int64_t>(little_endian(bytes, 26, 2) & 0x3FFF),
                       static_cast<int64_t>(little_endian(bytes, 28, 2) & 0x3FFF)};
  }
  if (holds_text(bytes, 12, "VP8L") && bytes[20] == 0x2F) {
    const uint64_t bits = little_endian(bytes, 21, 4);
    return ImageHeader{"WebP", static_cast<int64_t>((bits & 0x3FFF) + 1),
                       static_cast<int64_t>(((bits >> 14) & 0x3FFF) + 1)};
  }
  if (holds_text(bytes, 12, "VP8X")) {
    return ImageHeader{"WebP", static_cast<int64_t>(little_endian(bytes, 24, 3) + 1),
                       static_cast<int64_t>(little_endian(bytes, 27, 3) + 1)};
  }
  return std::nullopt;
}

}  // namespace

std::optional<ImageHeader> read_image_header(std::span<const uint8_t> bytes) {
  // Each reader checks its own signature, and no two signatures overlap.
  for (const auto reader : {png_header, jpeg_header, bmp_header, pnm_header, tiff_header, webp_header}) {
    if (auto header = reader(bytes)) {
      return header;
    }
  }
  return std::nullopt;
}

void check_pixel_limit(std::span<const uint8_t> bytes, const std::string& name, int64_t max_pixels) {
  if (max_pixels <= 0) {
    return;
  }
  const auto header = read_image_header(bytes);
  if (!header) {
    return;
  }
  // Each side is at most 2^32 - 1 (the widest header field read), so the product fits.
  const uint64_t pixels = static_cast<uint64_t>(header->width) * static_cast<uint64_t>(header->height);
  if (pixels > static_cast<uint64_t>(max_pixels)) {
    throw IoError(text("cannot decode image '", name, "': its ", header->format, " header declares ", header->width,
                       " x ", header->height, " = ", pixels, " pixels, over --max_image_pixels ", max_pixels,
                       " (a possible decompression bomb, refused before decoding; 0 lifts the limit)"));
  }
}

}  // namespace mae::data
