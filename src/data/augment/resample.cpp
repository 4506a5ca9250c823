#include "mae/data/augment/resample.h"

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "mae/util/error.h"

namespace mae::data {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // PIL's Resample.c for 8-bit images
constexpr double kSupport = 2.0;            // bicubic

double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) {
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  }
  if (x < 2.0) {
    return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  }
  return 0.0;
}

// For every output position: the first input index, how many inputs it reads, and their fixed-point weights.
struct Coefficients {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;  // out_size * window
  int window = 0;
};

Coefficients precompute(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = kSupport * filter_scale;
  Coefficients c;
  c.window = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<std::size_t>(out_size) * c.window, 0);
  std::vector<double> k(c.window);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double inverse = 1.0 / filter_scale;
    int xmin = static_cast<int>(center - support + 0.5);  // C truncation, as PIL
    xmin = std::max(xmin, 0);
    int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
    double total = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = bicubic((x + xmin - center + 0.5) * inverse);
      total += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double normalized = total != 0.0 ? k[x] / total : k[x];
      const double fixed = normalized * (1 << kPrecisionBits);
      c.weights[static_cast<std::size_t>(xx) * c.window + x] =
          static_cast<int32_t>(fixed < 0 ? -0.5 + fixed : 0.5 + fixed);
    }
    c.first[xx] = xmin;
    c.count[xx] = xmax;
  }
  return c;
}

inline uint8_t clip8(int32_t value) {
  const int32_t shifted = value >> kPrecisionBits;
  return static_cast<uint8_t>(std::clamp(shifted, 0, 255));
}

// `in` resampled along y; input row r of `in` is image row r + row_offset in `c`'s coordinates. Built for AVX2 as well
// as the x86-64 baseline, picked at load time: the multiply-adds on 32-bit lanes need AVX2's vpmulld to be cheap (the
// baseline's SSE2 has no 32-bit multiply), and this loop is most of the resampling time.
[[gnu::target_clones("avx2", "default")]] cv::Mat vertical(const cv::Mat& in, const Coefficients& c, int row_offset) {
  const int out_height = static_cast<int>(c.first.size());
  const int width_values = in.cols * in.channels();
  cv::Mat out(out_height, in.cols, in.type());
  std::vector<int32_t> sums(width_values);
  for (int yy = 0; yy < out_height; ++yy) {
    std::fill(sums.begin(), sums.end(), 1 << (kPrecisionBits - 1));
    const int32_t* w = &c.weights[static_cast<std::size_t>(yy) * c.window];
    for (int y = 0; y < c.count[yy]; ++y) {
      const uint8_t* source = in.ptr<uint8_t>(c.first[yy] + y - row_offset);
      const int32_t weight = w[y];
      for (int i = 0; i < width_values; ++i) {
        sums[i] += source[i] * weight;
      }
    }
    uint8_t* target = out.ptr<uint8_t>(yy);
    for (int i = 0; i < width_values; ++i) {
      target[i] = clip8(sums[i]);
    }
  }
  return out;
}

// Rows [row_begin, row_end) of `in`, resampled along x. Done as the vertical pass on the transposed rows: the same
// sums per pixel, but over contiguous memory that the compiler vectorises (a direct pass strides by channel).
cv::Mat horizontal(const cv::Mat& in, const Coefficients& c, int row_begin, int row_end) {
  cv::Mat transposed;
  cv::transpose(in.rowRange(row_begin, row_end), transposed);
  cv::Mat resampled;
  cv::transpose(vertical(transposed, c, 0), resampled);
  return resampled;
}

}  // namespace

cv::Mat resize_bicubic(const cv::Mat& image, int out_width, int out_height) {
  if (image.depth() != CV_8U || image.empty() || out_width <= 0 || out_height <= 0) {
    throw Error("resize_bicubic needs a non-empty 8-bit image and a positive size");
  }
  const bool need_horizontal = out_width != image.cols;
  const bool need_vertical = out_height != image.rows;
  if (!need_horizontal && !need_vertical) {
    return image.clone();
  }
  const Coefficients vertical_c = need_vertical ? precompute(image.rows, out_height) : Coefficients{};
  if (!need_horizontal) {
    return vertical(image, vertical_c, 0);
  }
  const Coefficients horizontal_c = precompute(image.cols, out_width);
  if (!need_vertical) {
    return horizontal(image, horizontal_c, 0, image.rows);
  }
  // Only the rows the vertical pass will read go through the horizontal pass, as in PIL.
  const int first_row = vertical_c.first.front();
  const int last_row = vertical_c.first.back() + vertical_c.count.back();
  return vertical(horizontal(image, horizontal_c, first_row, last_row), vertical_c, first_row);
}

}  // namespace mae::data
