#include "mae/data/image/image_io.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <fstream>
#include <string_view>
#include <utility>

#include "mae/data/image/jpeg_decoder.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::data {
namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw IoError(text("cannot read image '", path, "' (missing or unreadable)"));
  }
  file.seekg(0, std::ios::end);
  std::vector<uint8_t> bytes(static_cast<std::size_t>(file.tellg()));
  file.seekg(0);
  file.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!file) {
    throw IoError(text("cannot read image '", path, "'"));
  }
  return bytes;
}

// Removes a PNG's iCCP chunk (an embedded colour profile) in place. Neither OpenCV nor the reference's
// Image.convert('RGB') applies the profile, so the pixels do not change; but libpng checks it while decoding and
// prints "libpng warning: iCCP: known incorrect sRGB profile" to stderr for many files of ImageNet and the web,
// noise in every log that OpenCV gives us no way to silence. Chunks are length (4 bytes, big-endian), type (4),
// data, CRC (4); anything malformed is left for the decoder to report.
void strip_png_color_profile(std::vector<uint8_t>& bytes) {
  static constexpr uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 8 || !std::equal(signature, signature + 8, bytes.begin())) {
    return;
  }
  std::size_t at = 8;
  while (at + 12 <= bytes.size()) {
    const std::size_t length = (std::size_t{bytes[at]} << 24) | (std::size_t{bytes[at + 1]} << 16) |
                               (std::size_t{bytes[at + 2]} << 8) | std::size_t{bytes[at + 3]};
    if (length > bytes.size() - at - 12) {
      return;
    }
    const std::string_view type(reinterpret_cast<const char*>(&bytes[at + 4]), 4);
    if (type == "iCCP") {
      bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                  bytes.begin() + static_cast<std::ptrdiff_t>(at + 12 + length));
      return;  // PNG allows one
    }
    if (type == "IDAT" || type == "IEND") {  // the profile comes before the image data
      return;
    }
    at += 12 + length;
  }
}

cv::Mat decode_with_opencv(std::vector<uint8_t> bytes, const std::string& path) {
  strip_png_color_profile(bytes);
  cv::Mat bgr;
  try {
    bgr = cv::imdecode(bytes, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& error) {
    throw IoError(text("cannot decode image '", path, "': ", error.what()));
  }
  if (bgr.empty()) {
    throw IoError(text("cannot decode image '", path, "' (not an image, or a format OpenCV cannot read)"));
  }
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

}  // namespace

EncodedImage EncodedImage::open(const std::string& path, int64_t max_pixels) {
  return from_bytes(read_bytes(path), path, max_pixels);
}

EncodedImage EncodedImage::from_bytes(std::vector<uint8_t> bytes, std::string name, int64_t max_pixels) {
  if (bytes.empty()) {
    throw IoError(text("cannot decode image '", name, "': the file is empty"));
  }
  check_pixel_limit(bytes, name, max_pixels);  // before libjpeg or OpenCV allocates what the header declares
  EncodedImage image;
  if (const auto size = jpeg_rgb_size(bytes)) {
    image.size_ = *size;
    image.jpeg_ = std::move(bytes);
  } else {
    image.pixels_ = decode_with_opencv(std::move(bytes), name);
    image.size_ = image.pixels_.size();
  }
  image.name_ = std::move(name);
  return image;
}

EncodedImage EncodedImage::from_pixels(cv::Mat rgb, std::string name) {
  EncodedImage image;
  image.name_ = std::move(name);
  image.size_ = rgb.size();
  image.pixels_ = std::move(rgb);
  return image;
}

cv::Mat EncodedImage::decode() const { return decode(cv::Rect(cv::Point(0, 0), size_)); }

cv::Mat EncodedImage::decode(const cv::Rect& region) const {
  if (region.x < 0 || region.y < 0 || region.width <= 0 || region.height <= 0 || region.x + region.width > cols() ||
      region.y + region.height > rows()) {
    throw Error(text("region ", region.width, "x", region.height, "+", region.x, "+", region.y, " is not inside the ",
                     cols(), "x", rows(), " image '", name_, "'"));
  }
  if (!jpeg_.empty()) {
    return decode_jpeg_region(jpeg_, region, name_);
  }
  return pixels_(region);
}

cv::Mat read_rgb_image(const std::string& path) { return EncodedImage::open(path).decode(); }

}  // namespace mae::data

namespace mae::data {

void write_rgb_image(const std::string& path, const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  bool written = false;
  try {
    written = cv::imwrite(path, bgr);
  } catch (const cv::Exception& error) {
    throw IoError(text("cannot write image '", path, "': ", error.what()));
  }
  if (!written) {
    throw IoError(text("cannot write image '", path, "'"));
  }
}

}  // namespace mae::data
