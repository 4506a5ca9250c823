#pragma once
// PIL's Image.resize(size, BICUBIC) reimplemented: separable convolution with the a = -0.5 bicubic kernel widened by
// the downscale factor (so downscaling is antialiased), 22-bit fixed-point weights, horizontal pass first with the
// intermediate rounded to 8 bits. The reference's transforms run on PIL, so this reproduces them exactly.
#include <opencv2/core/mat.hpp>

namespace mae::data {

// 8-bit images with 1 to 4 channels; `image` may be a region of a larger one (a crop), whose outside is never read.
cv::Mat resize_bicubic(const cv::Mat& image, int out_width, int out_height);

}  // namespace mae::data
