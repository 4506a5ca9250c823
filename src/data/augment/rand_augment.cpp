#include "mae/data/augment/rand_augment.h"

#include <algorithm>
#include <cstddef>
#include <regex>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::data {

namespace {

constexpr double kMaxLevel = 10.0;

enum class Op {
  auto_contrast, equalize, invert, rotate, posterize, solarize, solarize_add, color, contrast, brightness, sharpness,
  shear_x, shear_y, translate_x, translate_y
};
constexpr int kOpCount = 15;

double randomly_negate(double value, Rng& rng) { return rng.uniform(0.0, 1.0) > 0.5 ? -value : value; }

}  // namespace

RandAugment::RandAugment(const std::string& config, const Rgb& fill) : fill_(fill) {
  // rand-m9-mstd0.5-inc1 (timm's rand_augment_transform): sections after "rand", any order.
  const auto fail = [&]() -> UsageError {
    return UsageError(text("unsupported --aa '", config, "': mae-cpp implements timm's RandAugment with the increasing "
                                                          "ops, 'rand-m<M>[-n<N>][-mstd<S>]-inc1', or '' for none"));
  };
  if (!config.starts_with("rand")) {
    throw fail();
  }
  static const std::regex section("(m|n|mstd|inc)([0-9.]+)");
  bool increasing = false;
  std::size_t position = 4;
  while (position < config.size()) {
    if (config[position] != '-') {
      throw fail();
    }
    const std::size_t end = std::min(config.find('-', position + 1), config.size());
    const std::string part = config.substr(position + 1, end - position - 1);
    std::smatch match;
    if (!std::regex_match(part, match, section)) {
      throw fail();
    }
    const double value = std::stod(match[2]);
    if (match[1] == "m") {
      magnitude_ = value;
    } else if (match[1] == "n") {
      num_ops_ = static_cast<int>(value);
    } else if (match[1] == "mstd") {
      magnitude_std_ = value;
    } else {
      increasing = value != 0.0;
    }
    position = end;
  }
  if (!increasing) {
    throw fail();
  }
}

cv::Mat RandAugment::operator()(const cv::Mat& image, Rng& rng) const {
  cv::Mat out = image;
  for (int i = 0; i < num_ops_; ++i) {
    const auto op = static_cast<Op>(rng.randint(0, kOpCount));
    if (rng.uniform(0.0, 1.0) > 0.5) {  // AugmentOp prob 0.5
      continue;
    }
    double m = magnitude_std_ > 0.0 ? rng.normal(magnitude_, magnitude_std_) : magnitude_;
    m = std::min(kMaxLevel, std::max(0.0, m));
    const double level = m / kMaxLevel;
    switch (op) {
      case Op::auto_contrast: out = pil::autocontrast(out); break;
      case Op::equalize: out = pil::equalize(out); break;
      case Op::invert: out = pil::invert(out); break;
      case Op::rotate: out = pil::rotate(out, randomly_negate(level * 30.0, rng), fill_); break;
      case Op::posterize: {
        const int bits = 4 - static_cast<int>(level * 4);
        if (bits < 8) {
          out = pil::posterize(out, bits);
        }
        break;
      }
      case Op::solarize: out = pil::solarize(out, 256 - static_cast<int>(level * 256)); break;
      case Op::solarize_add: out = pil::solarize_add(out, static_cast<int>(level * 110)); break;
      case Op::color: out = pil::color(out, 1.0 + randomly_negate(level * 0.9, rng)); break;
      case Op::contrast: out = pil::contrast(out, 1.0 + randomly_negate(level * 0.9, rng)); break;
      case Op::brightness: out = pil::brightness(out, 1.0 + randomly_negate(level * 0.9, rng)); break;
      case Op::sharpness: out = pil::sharpness(out, 1.0 + randomly_negate(level * 0.9, rng)); break;
      case Op::shear_x: out = pil::affine(out, {1, randomly_negate(level * 0.3, rng), 0, 0, 1, 0}, fill_); break;
      case Op::shear_y: out = pil::affine(out, {1, 0, 0, randomly_negate(level * 0.3, rng), 1, 0}, fill_); break;
      case Op::translate_x: {
        const double pixels = randomly_negate(level * 0.45, rng) * out.cols;
        out = pil::affine(out, {1, 0, pixels, 0, 1, 0}, fill_);
        break;
      }
      case Op::translate_y: {
        const double pixels = randomly_negate(level * 0.45, rng) * out.rows;
        out = pil::affine(out, {1, 0, 0, 0, 1, pixels}, fill_);
        break;
      }
    }
  }
  return out;
}

}  // namespace mae::data
