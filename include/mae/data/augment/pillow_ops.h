#pragma once
// The Pillow operations that timm's RandAugment (and the colour jitter) call, reimplemented on 8-bit RGB images with
// Pillow's arithmetic (Convert.c, ImageOps.py, ImageEnhance.py, Blend.c, Filter.c, Geometry.c), so each operation
// gives Pillow's pixels.
#include <opencv2/core/mat.hpp>

#include <array>
#include <cstdint>

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

}  // namespace mae::data
