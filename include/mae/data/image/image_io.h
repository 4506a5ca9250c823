#pragma once
// Reading images as torchvision's default loader does: PIL.Image.open(path).convert('RGB'), decoding no more of a
// JPEG than the transform needs.
#include <opencv2/core/mat.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "mae/data/image/image_header.h"

namespace mae::data {

// An image file held in memory: its size is known when it is opened, its pixels are decoded on request as 8-bit RGB
// (CV_8UC3, R first) the way convert('RGB') gives them: grey replicated into three channels, alpha dropped, EXIF
// orientation ignored (PIL ignores it too). JPEGs are decoded at request time, only the part asked for
// (jpeg_decoder.h); other formats (and CMYK JPEGs) are decoded whole by OpenCV when opened. Throws IoError naming the
// file when it cannot be read or decoded, and before any decoding when its header declares more than `max_pixels`
// pixels (image_header.h; 0: no limit).
class EncodedImage {
 public:
  // The file's bytes through from_bytes: an image from a file and the same bytes from elsewhere (a tar shard's member)
  // give the same pixels.
  static EncodedImage open(const std::string& path, int64_t max_pixels = kPilPixelLimit);
  // An encoded image held in memory (a JPEG, PNG... as a file would hold it); `name` is what errors call it (for a
  // shard's member: the shard and the member).
  static EncodedImage from_bytes(std::vector<uint8_t> bytes, std::string name, int64_t max_pixels = kPilPixelLimit);
  // An image already decoded (tests, tools); `name` is what errors call it.
  static EncodedImage from_pixels(cv::Mat rgb, std::string name = "<in memory>");

  int rows() const { return size_.height; }
  int cols() const { return size_.width; }
  const std::string& name() const { return name_; }

  cv::Mat decode() const;
  // The pixels of `region` (inside the image): equal to decode()(region), at the cost of decoding about that much.
  // For an image decoded at open, the result shares its pixels.
  cv::Mat decode(const cv::Rect& region) const;

 private:
  std::string name_;
  cv::Size size_;
  std::vector<uint8_t> jpeg_;  // a JPEG's bytes, decoded on request
  cv::Mat pixels_;             // or the pixels of anything else
};

// The whole image: EncodedImage::open(path).decode().
cv::Mat read_rgb_image(const std::string& path);

}  // namespace mae::data

namespace mae::data {

// Writes an 8-bit RGB image (PNG, JPEG... by extension); throws IoError naming the path on failure.
void write_rgb_image(const std::string& path, const cv::Mat& rgb);

}  // namespace mae::data
