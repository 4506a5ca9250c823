#include "mae/data/augment/transforms.h"

#include <ATen/ATen.h>
#include <opencv2/core.hpp>

#include <cmath>
#include <vector>

#include "mae/data/augment/resample.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::data {
namespace {

// Python's round(): halves go to the even neighbour (the default floating-point rounding mode).
int python_round(double x) { return static_cast<int>(std::nearbyint(x)); }

}  // namespace

CropBox sample_random_resized_crop(int height, int width, Rng& rng, std::array<double, 2> scale,
                                   std::array<double, 2> ratio) {
  const double area = static_cast<double>(height) * width;
  const double log_low = std::log(ratio[0]);
  const double log_high = std::log(ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(scale[0], scale[1]);
    const double aspect = std::exp(rng.uniform(log_low, log_high));
    const int w = python_round(std::sqrt(target_area * aspect));
    const int h = python_round(std::sqrt(target_area / aspect));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int top = static_cast<int>(rng.randint(0, height - h + 1));
      const int left = static_cast<int>(rng.randint(0, width - w + 1));
      return {top, left, h, w};
    }
  }
  // Fallback: the whole image, cut to the nearest allowed aspect ratio, centred.
  const double in_ratio = static_cast<double>(width) / height;
  int w = width;
  int h = height;
  if (in_ratio < ratio[0]) {
    h = python_round(w / ratio[0]);
  } else if (in_ratio > ratio[1]) {
    w = python_round(h * ratio[1]);
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

CropBox sample_random_resized_crop_tf(int height, int width, Rng& rng, std::array<double, 2> scale,
                                      std::array<double, 2> ratio) {
  const double target_area = static_cast<double>(height) * width * rng.uniform(scale[0], scale[1]);
  const double aspect = std::exp(rng.uniform(std::log(ratio[0]), std::log(ratio[1])));
  const int w = std::min(python_round(std::sqrt(target_area * aspect)), width);
  const int h = std::min(python_round(std::sqrt(target_area / aspect)), height);
  const int top = static_cast<int>(rng.randint(0, height - h + 1));
  const int left = static_cast<int>(rng.randint(0, width - w + 1));
  return {top, left, h, w};
}

cv::Mat resized_crop(const EncodedImage& image, const CropBox& box, int size) {
  return resize_bicubic(image.decode(cv::Rect(box.left, box.top, box.width, box.height)), size, size);
}

cv::Mat resize_shorter_side(const cv::Mat& image, int size) {
  const int short_side = std::min(image.rows, image.cols);
  const int long_side = std::max(image.rows, image.cols);
  const int new_long = static_cast<int>(static_cast<int64_t>(size) * long_side / short_side);
  return image.rows <= image.cols ? resize_bicubic(image, new_long, size) : resize_bicubic(image, size, new_long);
}

cv::Mat center_crop(const cv::Mat& image, int size) {
  if (image.rows < size || image.cols < size) {
    throw Error("center_crop: image smaller than the crop");
  }
  const int top = python_round((image.rows - size) / 2.0);
  const int left = python_round((image.cols - size) / 2.0);
  return image(cv::Rect(left, top, size, size));
}

cv::Mat horizontal_flip(const cv::Mat& image) {
  cv::Mat flipped;
  cv::flip(image, flipped, 1);
  return flipped;
}

namespace {

// (x / 255 - mean) / std as one multiply-add over a contiguous plane. Built for AVX2 as well as the x86-64 baseline,
// picked at load time (see resample.cpp's vertical).
[[gnu::target_clones("avx2", "default")]] void normalize_plane(const uint8_t* in, float* out, std::size_t count,
                                                                float scale, float shift) {
  for (std::size_t i = 0; i < count; ++i) {
    out[i] = static_cast<float>(in[i]) * scale + shift;
  }
}

}  // namespace

void write_normalized(const cv::Mat& image, const at::Tensor& out, const std::array<float, 3>& mean,
                      const std::array<float, 3>& std) {
  const int channels = image.channels();
  if (!out.is_contiguous() || out.scalar_type() != at::kFloat ||
      out.sizes() != at::IntArrayRef({channels, image.rows, image.cols})) {
    throw Error(text("write_normalized: the output must be a contiguous float [", channels, ", ", image.rows, ", ",
                     image.cols, "] tensor, not ", out.sizes()));
  }
  // The channels de-interleaved by OpenCV's SIMD split first (into new, contiguous planes): a per-channel loop over
  // the interleaved pixels does not vectorise.
  std::vector<cv::Mat> planes;
  cv::split(image, planes);
  const std::size_t plane_size = static_cast<std::size_t>(image.rows) * image.cols;
  for (int c = 0; c < channels; ++c) {
    normalize_plane(planes[c].ptr<uint8_t>(), out.data_ptr<float>() + c * plane_size, plane_size,
                    1.0F / (255.0F * std[c]), -mean[c] / std[c]);
  }
}

at::Tensor to_normalized_tensor(const cv::Mat& image, const std::array<float, 3>& mean,
                                const std::array<float, 3>& std) {
  at::Tensor tensor = at::empty({image.channels(), image.rows, image.cols}, at::TensorOptions().dtype(at::kFloat));
  write_normalized(image, tensor, mean, std);
  return tensor;
}

cv::Mat to_grayscale(const cv::Mat& rgb) {
  cv::Mat gray(rgb.rows, rgb.cols, CV_8UC1);
  for (int y = 0; y < rgb.rows; ++y) {
    const uint8_t* in = rgb.ptr<uint8_t>(y);
    uint8_t* out = gray.ptr<uint8_t>(y);
    for (int x = 0; x < rgb.cols; ++x, in += 3) {
      out[x] = pil_luma(in);
    }
  }
  return gray;
}

void write_model_input(const cv::Mat& rgb, const at::Tensor& out) {
  if (out.dim() == 3 && out.size(0) == 1) {
    write_normalized(to_grayscale(rgb), out, kGrayMean, kGrayStd);
  } else {
    write_normalized(rgb, out);
  }
}

at::Tensor to_model_input(const cv::Mat& rgb, int in_chans) {
  at::Tensor tensor = at::empty({in_chans, rgb.rows, rgb.cols}, at::TensorOptions().dtype(at::kFloat));
  write_model_input(rgb, tensor);
  return tensor;
}

}  // namespace mae::data
