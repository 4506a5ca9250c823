#include "mae/data/jpeg_decoder.h"

// jpeglib.h needs FILE and size_t declared first.
#include <cstddef>
#include <cstdio>
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <algorithm>
#include <csetjmp>
#include <cstring>

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

bool read_size(const std::vector<uint8_t>& bytes, cv::Size& size) {
  jpeg_decompress_struct decoder{};
  ErrorManager errors;
  install_error_manager(decoder, errors);
  if (setjmp(errors.jump) != 0) {
    jpeg_destroy_decompress(&decoder);
    return false;
  }
  jpeg_create_decompress(&decoder);
  jpeg_mem_src(&decoder, bytes.data(), bytes.size());
  const bool is_rgb = jpeg_read_header(&decoder, TRUE) == JPEG_HEADER_OK && decodes_to_rgb(decoder);
  size = cv::Size(static_cast<int>(decoder.image_width), static_cast<int>(decoder.image_height));
  jpeg_destroy_decompress(&decoder);
  return is_rgb;
}

// Decodes `region` into `out` (allocated by the caller, region-sized CV_8UC3), using `row_buffer` (at least 3 bytes per
// image column) for each decoded row. Returns false, with libjpeg's message in errors.message, on failure.
bool decode_region(const std::vector<uint8_t>& bytes, const cv::Rect& region, cv::Mat& out,
                   std::vector<uint8_t>& row_buffer, ErrorManager& errors) {
  jpeg_decompress_struct decoder{};
  install_error_manager(decoder, errors);
  if (setjmp(errors.jump) != 0) {
    jpeg_destroy_decompress(&decoder);
    return false;
  }
  jpeg_create_decompress(&decoder);
  jpeg_mem_src(&decoder, bytes.data(), bytes.size());
  jpeg_read_header(&decoder, TRUE);
  decoder.out_color_space = JCS_EXT_RGB;
  jpeg_start_decompress(&decoder);

  // Fancy upsampling reads one chroma sample beyond each output pixel, and libjpeg treats a crop's edges as the
  // image's: decoding one iMCU beyond the region on each side keeps the region's pixels those of a whole decode.
  const int margin_x = decoder.max_h_samp_factor * DCTSIZE;
  const int margin_y = decoder.max_v_samp_factor * DCTSIZE;
  const int image_width = static_cast<int>(decoder.output_width);
  auto crop_left = static_cast<JDIMENSION>(std::max(region.x - margin_x, 0));
  auto crop_width = static_cast<JDIMENSION>(std::min(region.x + region.width + margin_x, image_width)) - crop_left;
  if (crop_width < decoder.output_width) {
    jpeg_crop_scanline(&decoder, &crop_left, &crop_width);  // moves crop_left down to an iMCU boundary
  }
  const int first_row = std::max(region.y - margin_y, 0);
  jpeg_skip_scanlines(&decoder, static_cast<JDIMENSION>(first_row));
  const std::size_t region_offset = static_cast<std::size_t>(region.x - static_cast<int>(crop_left)) * 3;
  const std::size_t region_bytes = static_cast<std::size_t>(region.width) * 3;
  JSAMPROW row = row_buffer.data();
  for (int y = first_row; y < region.y + region.height; ++y) {
    jpeg_read_scanlines(&decoder, &row, 1);
    if (y >= region.y) {
      std::memcpy(out.ptr<uint8_t>(y - region.y), row_buffer.data() + region_offset, region_bytes);
    }
  }
  // Stops here: the rows below the region are never decoded (jpeg_finish_decompress would want them).
  jpeg_destroy_decompress(&decoder);
  return true;
}

}  // namespace

std::optional<cv::Size> jpeg_rgb_size(const std::vector<uint8_t>& bytes) {
  const bool has_jpeg_signature = bytes.size() > 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
  cv::Size size;
  if (!has_jpeg_signature || !read_size(bytes, size)) {
    return std::nullopt;
  }
  return size;
}

cv::Mat decode_jpeg_region(const std::vector<uint8_t>& bytes, const cv::Rect& region, const std::string& name) {
  cv::Mat out(region.height, region.width, CV_8UC3);
  std::vector<uint8_t> row_buffer(static_cast<std::size_t>(region.x + region.width + 64) * 3);
  ErrorManager errors;
  if (!decode_region(bytes, region, out, row_buffer, errors)) {
    throw IoError(text("cannot decode image '", name, "': ", errors.message));
  }
  return out;
}

}  // namespace mae::data
