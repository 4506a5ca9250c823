#pragma once
// Reading images as torchvision's default loader does: PIL.Image.open(path).convert('RGB').
#include <opencv2/core/mat.hpp>

#include <string>

namespace mae::data {

// 8-bit RGB (CV_8UC3, R first). Grey images are replicated into three channels and an alpha channel is dropped, as
// convert('RGB') does; EXIF orientation is ignored, as PIL ignores it. Throws IoError naming the file when it cannot
// be read or decoded.
cv::Mat read_rgb_image(const std::string& path);

}  // namespace mae::data

namespace mae::data {

// Writes an 8-bit RGB image (PNG, JPEG... by extension); throws IoError naming the path on failure.
void write_rgb_image(const std::string& path, const cv::Mat& rgb);

}  // namespace mae::data
