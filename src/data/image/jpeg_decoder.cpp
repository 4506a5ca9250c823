#include "mae/data/image/jpeg_decoder.h"

// jpeglib.h needs FILE and size_t declared first.
#include <cstddef>
#include <cstdio>
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <algorithm>
#include <csetjmp>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::data {
namespace {

// libjpeg reports errors through a callback that must not return; it jumps back to the setjmp in the function that
// drove the decoder, which then cleans up. Only trivially destructible objects live between the two.
struct ErrorManager {
  jpeg_error_mgr base;  // first, so that libjpeg's pointer to it is a pointer to the whole
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jump_on_error(j_common_ptr decoder) {
  auto* errors = reinterpret_cast<ErrorManager*>(decoder->err);
  (*decoder->err->format_message)(decoder, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings (level -1) about corrupt data are decoded through, as PIL does, except a file that ends early: PIL refuses
// it ("image file is truncated") where libjpeg would fill the rest with grey. Trace messages (level >= 0) are dropped.
void on_message(j_common_ptr decoder, int level) {
  if (level < 0 && decoder->err->msg_code == JWRN_JPEG_EOF) {
    jump_on_error(decoder);
  }
}

void install_error_manager(jpeg_decompress_struct& decoder, ErrorManager& errors) {
  decoder.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = jump_on_error;
  errors.base.emit_message = on_message;
  errors.message[0] = '\0';
}

bool decodes_to_rgb(const jpeg_decompress_struct& decoder) {
  return decoder.jpeg_color_space == JCS_GRAYSCALE || decoder.jpeg_color_space == JCS_YCbCr ||
         decoder.jpeg_color_space == JCS_RGB;
}

// Runs `work` on a decoder that has read the header of `bytes`, then releases the decoder. libjpeg reports errors by
// jumping back to the setjmp here, over `work`'s frame, so `work` must keep only trivially destructible locals.
// Returns false, with libjpeg's message in errors.message, on failure.
template <typename Work>
bool with_decoder(const std::vector<uint8_t>& bytes, ErrorManager& errors, Work&& work) {
  jpeg_decompress_struct decoder{};
  install_error_manager(decoder, errors);
  if (setjmp(errors.jump) != 0) {
    jpeg_destroy_decompress(&decoder);
    return false;
  }
  jpeg_create_decompress(&decoder);
  jpeg_mem_src(&decoder, bytes.data(), bytes.size());
  jpeg_read_header(&decoder, TRUE);  // an in-memory source never suspends: a bad header is an error
  work(decoder);
  jpeg_destroy_decompress(&decoder);  // also when `work` stopped before the last row
  return true;
}

// Columns a crop may decode beyond the region: two of margin on each side, and on the left up to one iMCU (at most
// 4 x 8 pixels) more, where libjpeg moves the crop's start down to an iMCU boundary.
constexpr int kMaxExtraColumns = 2 + 2 + 4 * DCTSIZE;

// Decodes the rows of `region` into `rows` (allocated by the caller: region.height rows of region.width +
// kMaxExtraColumns RGB pixels), each row starting `column_offset` pixels left of the region. The rows below the
// region are never decoded.
void decode_region(jpeg_decompress_struct& decoder, const cv::Rect& region, cv::Mat& rows, int& column_offset) {
  decoder.out_color_space = JCS_EXT_RGB;
  jpeg_start_decompress(&decoder);

  // Fancy upsampling reads the chroma samples next to each output pixel's own, and libjpeg treats a crop's edges as
  // the image's. Two more columns on each side (libjpeg widens the left one to an iMCU boundary) keep the region's
  // pixels those of a whole decode; above it, one whole iMCU row is decoded, since the rows skipped before it leave
  // no chroma context behind. (JpegRead.DecodingARegionGivesThatRegionOfTheWholeImage fails with no margins.)
  const int margin_x = 2;
  const int margin_y = decoder.max_v_samp_factor * DCTSIZE;
  const int image_width = static_cast<int>(decoder.output_width);
  auto crop_left = static_cast<JDIMENSION>(std::max(region.x - margin_x, 0));
  auto crop_width = static_cast<JDIMENSION>(std::min(region.x + region.width + margin_x, image_width)) - crop_left;
  if (crop_width < decoder.output_width) {
    jpeg_crop_scanline(&decoder, &crop_left, &crop_width);  // moves crop_left down to an iMCU boundary
  }
  column_offset = region.x - static_cast<int>(crop_left);
  const int first_row = std::max(region.y - margin_y, 0);
  jpeg_skip_scanlines(&decoder, static_cast<JDIMENSION>(first_row));
  for (int y = first_row; y < region.y + region.height; ++y) {
    // The margin rows above the region land in its first row, which the region's own first row then overwrites.
    JSAMPROW row = rows.ptr<uint8_t>(std::max(y - region.y, 0));
    jpeg_read_scanlines(&decoder, &row, 1);
  }
}

}  // namespace

std::optional<cv::Size> jpeg_rgb_size(const std::vector<uint8_t>& bytes) {
  const bool has_jpeg_signature = bytes.size() > 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
  if (!has_jpeg_signature) {
    return std::nullopt;
  }
  cv::Size size;
  bool is_rgb = false;
  ErrorManager errors;
  const bool read = with_decoder(bytes, errors, [&](const jpeg_decompress_struct& decoder) {
    size = cv::Size(static_cast<int>(decoder.image_width), static_cast<int>(decoder.image_height));
    is_rgb = decodes_to_rgb(decoder);
  });
  if (!read || !is_rgb) {
    return std::nullopt;
  }
  return size;
}

cv::Mat decode_jpeg_region(const std::vector<uint8_t>& bytes, const cv::Rect& region, const std::string& name) {
  cv::Mat rows(region.height, region.width + kMaxExtraColumns, CV_8UC3);
  int column_offset = 0;
  ErrorManager errors;
  if (!with_decoder(bytes, errors,
                    [&](jpeg_decompress_struct& decoder) { decode_region(decoder, region, rows, column_offset); })) {
    throw IoError(text("cannot decode image '", name, "': ", errors.message));
  }
  return rows(cv::Rect(column_offset, 0, region.width, region.height));
}

}  // namespace mae::data
