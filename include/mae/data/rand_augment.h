#pragma once
// timm 0.3.2's RandAugment ("rand-m9-mstd0.5-inc1" for fine-tuning) and the Pillow operations it calls,
// reimplemented on 8-bit RGB images with Pillow's arithmetic (Convert.c, ImageOps.py, ImageEnhance.py, Blend.c,
// Filter.c, Geometry.c), so each operation gives Pillow's pixels.
#include <opencv2/core/mat.hpp>

#include <array>
#include <string>
#include <vector>

#include "mae/data/rng.h"

namespace mae::data {

using Rgb = std::array<uint8_t, 3>;

namespace pil {

cv::Mat autocontrast(const cv::Mat& image);
cv::Mat equalize(const cv::Mat& image);
cv::Mat invert(const cv::Mat& image);
cv::Mat posterize(const cv::Mat& image, int bits);
cv::Mat solarize(const cv::Mat& image, int threshold);
cv::Mat solarize_add(const cv::Mat& image, int add, int threshold = 128);
// ImageEnhance.<X>(image).enhance(factor)
cv::Mat color(const cv::Mat& image, double factor);
cv::Mat contrast(const cv::Mat& image, double factor);
cv::Mat brightness(const cv::Mat& image, double factor);
cv::Mat sharpness(const cv::Mat& image, double factor);
// Image.transform(size, AFFINE, matrix, BICUBIC, fillcolor): output (x, y) samples input at matrix * (x+.5, y+.5).
cv::Mat affine(const cv::Mat& image, const std::array<double, 6>& matrix, const Rgb& fill);
// Image.rotate(degrees, BICUBIC, fillcolor=fill): counter-clockwise about (w/2, h/2), same size.
cv::Mat rotate(const cv::Mat& image, double degrees, const Rgb& fill);

}  // namespace pil

class RandAugment {
 public:
  // Parses timm's "rand-m<magnitude>[-n<ops>][-mstd<std>][-inc1]" (the increasing-op set; -inc1 is required, as the
  // reference's default has it). `fill` is the mean pixel, (124, 116, 104) for ImageNet. Throws UsageError otherwise.
  RandAugment(const std::string& config, const Rgb& fill = {124, 116, 104});

  // num_ops operations drawn uniformly with replacement from the 15, each applied with probability 0.5 at magnitude
  // N(m, mstd) clipped to [0, 10], with a random sign for the signed ones.
  cv::Mat operator()(const cv::Mat& image, Rng& rng) const;

  double magnitude() const { return magnitude_; }
  int num_ops() const { return num_ops_; }
  double magnitude_std() const { return magnitude_std_; }

 private:
  double magnitude_ = 9.0;
  int num_ops_ = 2;
  double magnitude_std_ = 0.0;
  Rgb fill_;
};

}  // namespace mae::data
