#include "mae/data/augment/pillow_ops.h"

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <numbers>
#include <vector>

#include "mae/data/augment/transforms.h"
#include "mae/util/error.h"

namespace mae::data {
namespace pil {
namespace {

using Lut = std::array<std::array<uint8_t, 256>, 3>;

cv::Mat contiguous_rgb(const cv::Mat& image) {
  if (image.type() != CV_8UC3) {
    throw Error("RandAugment operations take 8-bit RGB images");
  }
  return image.isContinuous() ? image : image.clone();
}

cv::Mat apply_lut(const cv::Mat& image, const Lut& lut) {
  const cv::Mat in = contiguous_rgb(image);
  cv::Mat out(in.rows, in.cols, CV_8UC3);
  const uint8_t* s = in.ptr<uint8_t>();
  uint8_t* d = out.ptr<uint8_t>();
  const std::size_t pixels = in.total();
  for (std::size_t i = 0; i < pixels; ++i) {
    for (int c = 0; c < 3; ++c) {
      d[3 * i + c] = lut[c][s[3 * i + c]];
    }
  }
  return out;
}

Lut same_lut_for_all(const std::array<uint8_t, 256>& table) { return {table, table, table}; }

std::array<std::array<int64_t, 256>, 3> histograms(const cv::Mat& in) {
  std::array<std::array<int64_t, 256>, 3> h{};
  const uint8_t* s = in.ptr<uint8_t>();
  for (std::size_t i = 0; i < in.total(); ++i) {
    for (int c = 0; c < 3; ++c) {
      ++h[c][s[3 * i + c]];
    }
  }
  return h;
}

uint8_t clip8(int64_t v) { return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255)); }

// Blend.c: degenerate + alpha * (image - degenerate) in float32, truncated; clamped only outside [0, 1].
cv::Mat blend(const cv::Mat& degenerate, const cv::Mat& image, double factor) {
  const auto alpha = static_cast<float>(factor);
  if (alpha == 0.0F) {
    return degenerate.clone();
  }
  if (alpha == 1.0F) {
    return image.clone();
  }
  cv::Mat out(image.rows, image.cols, CV_8UC3);
  const uint8_t* a = degenerate.ptr<uint8_t>();
  const uint8_t* b = image.ptr<uint8_t>();
  uint8_t* d = out.ptr<uint8_t>();
  const std::size_t values = image.total() * 3;
  const bool inside = alpha >= 0.0F && alpha <= 1.0F;
  for (std::size_t i = 0; i < values; ++i) {
    const float v = static_cast<float>(a[i]) + alpha * static_cast<float>(static_cast<int>(b[i]) - static_cast<int>(a[i]));
    d[i] = inside ? static_cast<uint8_t>(v) : (v <= 0.0F ? 0 : v >= 255.0F ? 255 : static_cast<uint8_t>(v));
  }
  return out;
}

// Geometry.c's cubic with a = -1.
double cubic(double v1, double v2, double v3, double v4, double d) {
  const double p1 = v2;
  const double p2 = -v1 + v3;
  const double p3 = 2 * (v1 - v2) + v3 - v4;
  const double p4 = -v1 + v2 - v3 + v4;
  return p1 + d * (p2 + d * (p3 + d * p4));
}

// Python's float % 360.0 (the result takes the divisor's sign).
double python_mod_360(double x) {
  double r = std::fmod(x, 360.0);
  if (r != 0.0 && r < 0.0) {
    r += 360.0;
  }
  return r;
}

// Python's round(x, 15): correctly rounded decimal, read back.
double round15(double x) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.15f", x);
  return std::strtod(buffer, nullptr);
}

}  // namespace

cv::Mat autocontrast(const cv::Mat& image) {
  const cv::Mat in = contiguous_rgb(image);
  const auto h = histograms(in);
  Lut lut{};
  for (int c = 0; c < 3; ++c) {
    int lo = 0;
    while (lo < 256 && h[c][lo] == 0) {
      ++lo;
    }
    int hi = 255;
    while (hi >= 0 && h[c][hi] == 0) {
      --hi;
    }
    for (int i = 0; i < 256; ++i) {
      if (hi <= lo) {
        lut[c][i] = static_cast<uint8_t>(i);
      } else {
        const double scale = 255.0 / (hi - lo);
        const double offset = -lo * scale;
        lut[c][i] = clip8(static_cast<int64_t>(i * scale + offset));
      }
    }
  }
  return apply_lut(in, lut);
}

cv::Mat equalize(const cv::Mat& image) {
  const cv::Mat in = contiguous_rgb(image);
  const auto h = histograms(in);
  Lut lut{};
  for (int c = 0; c < 3; ++c) {
    std::vector<int64_t> used;
    for (int64_t count : h[c]) {
      if (count != 0) {
        used.push_back(count);
      }
    }
    int64_t step = 0;
    if (used.size() > 1) {
      int64_t total = 0;
      for (int64_t count : used) {
        total += count;
      }
      step = (total - used.back()) / 255;
    }
    int64_t n = step / 2;
    for (int i = 0; i < 256; ++i) {
      lut[c][i] = step == 0 ? static_cast<uint8_t>(i) : clip8(n / step);
      n += h[c][i];
    }
  }
  return apply_lut(in, lut);
}

cv::Mat invert(const cv::Mat& image) {
  std::array<uint8_t, 256> table{};
  for (int i = 0; i < 256; ++i) {
    table[i] = static_cast<uint8_t>(255 - i);
  }
  return apply_lut(image, same_lut_for_all(table));
}

cv::Mat posterize(const cv::Mat& image, int bits) {
  std::array<uint8_t, 256> table{};
  const int mask = ~((1 << (8 - bits)) - 1);
  for (int i = 0; i < 256; ++i) {
    table[i] = static_cast<uint8_t>(i & mask);
  }
  return apply_lut(image, same_lut_for_all(table));
}

cv::Mat solarize(const cv::Mat& image, int threshold) {
  std::array<uint8_t, 256> table{};
  for (int i = 0; i < 256; ++i) {
    table[i] = static_cast<uint8_t>(i < threshold ? i : 255 - i);
  }
  return apply_lut(image, same_lut_for_all(table));
}

cv::Mat solarize_add(const cv::Mat& image, int add, int threshold) {
  std::array<uint8_t, 256> table{};
  for (int i = 0; i < 256; ++i) {
    table[i] = i < threshold ? clip8(std::min(255, i + add)) : static_cast<uint8_t>(i);
  }
  return apply_lut(image, same_lut_for_all(table));
}

cv::Mat color(const cv::Mat& image, double factor) {
  const cv::Mat in = contiguous_rgb(image);
  cv::Mat grey(in.rows, in.cols, CV_8UC3);
  const uint8_t* s = in.ptr<uint8_t>();
  uint8_t* d = grey.ptr<uint8_t>();
  for (std::size_t i = 0; i < in.total(); ++i) {
    d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = pil_luma(s + 3 * i);
  }
  return blend(grey, in, factor);
}

cv::Mat contrast(const cv::Mat& image, double factor) {
  const cv::Mat in = contiguous_rgb(image);
  double sum = 0.0;
  const uint8_t* s = in.ptr<uint8_t>();
  for (std::size_t i = 0; i < in.total(); ++i) {
    sum += pil_luma(s + 3 * i);
  }
  const auto mean = static_cast<uint8_t>(static_cast<int>(sum / static_cast<double>(in.total()) + 0.5));
  return blend(cv::Mat(in.rows, in.cols, CV_8UC3, cv::Scalar(mean, mean, mean)), in, factor);
}

cv::Mat brightness(const cv::Mat& image, double factor) {
  const cv::Mat in = contiguous_rgb(image);
  return blend(cv::Mat::zeros(in.rows, in.cols, CV_8UC3), in, factor);
}

cv::Mat sharpness(const cv::Mat& image, double factor) {
  // ImageFilter.SMOOTH: (1 1 1 / 1 5 1 / 1 1 1) / 13 in float32, +0.5, truncated; the border is copied.
  const cv::Mat in = contiguous_rgb(image);
  cv::Mat smooth = in.clone();
  if (in.rows >= 3 && in.cols >= 3) {
    const float edge = 1.0F / 13.0F;
    const float centre = 5.0F / 13.0F;
    for (int y = 1; y < in.rows - 1; ++y) {
      const uint8_t* below = in.ptr<uint8_t>(y + 1);
      const uint8_t* row = in.ptr<uint8_t>(y);
      const uint8_t* above = in.ptr<uint8_t>(y - 1);
      uint8_t* out = smooth.ptr<uint8_t>(y);
      for (int x = 1; x < in.cols - 1; ++x) {
        for (int c = 0; c < 3; ++c) {
          const int l = 3 * (x - 1) + c;
          const int m = 3 * x + c;
          const int r = 3 * (x + 1) + c;
          float ss = 0.5F;
          ss += (static_cast<float>(below[l]) * edge + static_cast<float>(below[m]) * edge) +
                static_cast<float>(below[r]) * edge;
          ss += (static_cast<float>(row[l]) * edge + static_cast<float>(row[m]) * centre) +
                static_cast<float>(row[r]) * edge;
          ss += (static_cast<float>(above[l]) * edge + static_cast<float>(above[m]) * edge) +
                static_cast<float>(above[r]) * edge;
          out[m] = ss <= 0.0F ? 0 : ss >= 255.0F ? 255 : static_cast<uint8_t>(ss);
        }
      }
    }
  }
  return blend(smooth, in, factor);
}

cv::Mat affine(const cv::Mat& image, const std::array<double, 6>& a, const Rgb& fill) {
  const cv::Mat in = contiguous_rgb(image);
  const int w = in.cols;
  const int h = in.rows;
  cv::Mat out(h, w, CV_8UC3, cv::Scalar(fill[0], fill[1], fill[2]));
  const auto clamp_x = [w](int x) { return std::clamp(x, 0, w - 1); };
  const auto clamp_y = [h](int y) { return std::clamp(y, 0, h - 1); };
  for (int y = 0; y < h; ++y) {
    uint8_t* target = out.ptr<uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      const double xi = x + 0.5;
      const double yi = y + 0.5;
      double sx = a[0] * xi + a[1] * yi + a[2];
      double sy = a[3] * xi + a[4] * yi + a[5];
      if (sx < 0.0 || sx >= w || sy < 0.0 || sy >= h) {
        continue;  // keeps the fill colour
      }
      sx -= 0.5;
      sy -= 0.5;
      const double fx = std::floor(sx);
      const double fy = std::floor(sy);
      const double dx = sx - fx;
      const double dy = sy - fy;
      const int x0 = static_cast<int>(fx) - 1;
      const int y0 = static_cast<int>(fy) - 1;
      for (int c = 0; c < 3; ++c) {
        std::array<double, 4> rows{};
        for (int r = 0; r < 4; ++r) {
          const uint8_t* line = in.ptr<uint8_t>(clamp_y(y0 + r));
          rows[r] = cubic(line[3 * clamp_x(x0) + c], line[3 * clamp_x(x0 + 1) + c], line[3 * clamp_x(x0 + 2) + c],
                          line[3 * clamp_x(x0 + 3) + c], dx);
        }
        const double v = cubic(rows[0], rows[1], rows[2], rows[3], dy);
        target[3 * x + c] = v <= 0.0 ? 0 : v >= 255.0 ? 255 : static_cast<uint8_t>(v);
      }
    }
  }
  return out;
}

cv::Mat rotate(const cv::Mat& image, double degrees, const Rgb& fill) {
  const double angle = python_mod_360(degrees);
  if (angle == 0.0) {
    return image.clone();
  }
  if (angle == 180.0) {
    cv::Mat flipped;
    cv::flip(image, flipped, -1);
    return flipped;
  }
  const double w = image.cols;
  const double h = image.rows;
  const double cx = w / 2;
  const double cy = h / 2;
  const double radians = -(angle * (std::numbers::pi / 180.0));
  std::array<double, 6> m{round15(std::cos(radians)), round15(std::sin(radians)), 0.0,
                          round15(-std::sin(radians)), round15(std::cos(radians)), 0.0};
  m[2] = m[0] * (-cx) + m[1] * (-cy) + m[2] + cx;
  m[5] = m[3] * (-cx) + m[4] * (-cy) + m[5] + cy;
  return affine(image, m, fill);
}

}  // namespace pil

}  // namespace mae::data
