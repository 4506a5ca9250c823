#include "mae/data/image_io.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::data {

cv::Mat read_rgb_image(const std::string& path) {
  cv::Mat bgr;
  try {
    bgr = cv::imread(path, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& error) {
    throw IoError(text("cannot decode image '", path, "': ", error.what()));
  }
  if (bgr.empty()) {
    throw IoError(text("cannot read image '", path, "' (missing, unreadable, or not an image)"));
  }
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

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
