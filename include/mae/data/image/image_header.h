#pragma once
// Decompression bombs: the size an image file declares, read from its header without decoding anything, and the
// limit that refuses an image before its decoder allocates that many pixels (a 30000 x 30000 PNG of a few hundred
// bytes decodes at gigabytes, in every loader worker that meets one).
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace mae::data {

// The default of --max_image_pixels: the size above which PIL's Image.open raises DecompressionBombError, twice
// Image.MAX_IMAGE_PIXELS (89,478,485). PIL only warns between the two; we decode those without a warning.
inline constexpr int64_t kPilPixelLimit = 178'956'970;

struct ImageHeader {
  const char* format;  // "PNG", "JPEG", ...: for messages
  int64_t width;       // each side below 2^32, as the headers' fields are
  int64_t height;
};

// The size in the header of a PNG (IHDR), JPEG (the first SOFn, markers found as libjpeg finds them), BMP, binary or
// plain PBM/PGM/PPM, TIFF or BigTIFF (the first directory, which OpenCV decodes) or WebP (VP8, VP8L or VP8X); nullopt
// for other formats and for headers too short or malformed to read, which the decoders then report.
std::optional<ImageHeader> read_image_header(std::span<const uint8_t> bytes);

// Throws IoError naming `name`, the declared size and the limit when the header declares more than `max_pixels`
// pixels (0: no limit). Formats read_image_header does not read pass; OpenCV refuses those above its own limit
// (OPENCV_IO_MAX_IMAGE_PIXELS, 2^30 by default).
void check_pixel_limit(std::span<const uint8_t> bytes, const std::string& name, int64_t max_pixels);

}  // namespace mae::data
