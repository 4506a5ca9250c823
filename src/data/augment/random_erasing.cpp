#include "mae/data/augment/random_erasing.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::data {

ErasingMode parse_erasing_mode(const std::string& name) {
  if (name == "pixel") {
    return ErasingMode::pixel;
  }
  if (name == "rand") {
    return ErasingMode::rand;
  }
  if (name == "const") {
    return ErasingMode::constant;
  }
  throw UsageError(text("unknown random erasing mode '", name, "' (--remode: pixel, rand or const)"));
}

void random_erase(at::Tensor& image, const RandomErasingOptions& options, Rng& rng) {
  if (rng.uniform(0.0, 1.0) > options.probability) {
    return;
  }
  const int64_t channels = image.size(0);
  const int64_t height = image.size(1);
  const int64_t width = image.size(2);
  const double area = static_cast<double>(height) * width;
  const int count = options.max_count <= 1 ? 1 : static_cast<int>(rng.randint(1, options.max_count + 1));
  const double log_low = std::log(options.min_aspect);
  const double log_high = std::log(1.0 / options.min_aspect);
  for (int box = 0; box < count; ++box) {
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double target_area = rng.uniform(options.min_area, options.max_area) * area / count;
      const double aspect = std::exp(rng.uniform(log_low, log_high));
      const auto h = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area * aspect)));
      const auto w = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area / aspect)));
      if (w < width && h < height) {
        const int64_t top = rng.randint(0, height - h + 1);  // random.randint(0, H - h): both ends included
        const int64_t left = rng.randint(0, width - w + 1);
        at::Tensor region = image.slice(1, top, top + h).slice(2, left, left + w);
        if (options.mode == ErasingMode::constant) {
          region.zero_();
        } else {
          auto generator = at::make_generator<at::CPUGeneratorImpl>(rng.bits());
          const std::vector<int64_t> shape = options.mode == ErasingMode::pixel ? std::vector<int64_t>{channels, h, w}
                                                                                 : std::vector<int64_t>{channels, 1, 1};
          region.copy_(at::normal(0.0, 1.0, shape, generator, image.options()).expand_as(region));
        }
        break;
      }
    }
  }
}

}  // namespace mae::data
