#pragma once
// timm's RandomErasing, applied to one normalised [C, H, W] image, as create_transform(re_prob, re_mode, re_count)
// configures it for fine-tuning.
#include <ATen/core/Tensor.h>

#include <string>

#include "mae/data/augment/rng.h"

namespace mae::data {

// --remode: pixel (per-pixel N(0,1)), rand (per-channel N(0,1)), const (zeros).
enum class ErasingMode { pixel, rand, constant };

// The --remode names; throws UsageError naming an unknown one (checked once, when the pipeline is built).
ErasingMode parse_erasing_mode(const std::string& name);

struct RandomErasingOptions {
  double probability = 0.25;  // --reprob
  ErasingMode mode = ErasingMode::pixel;
  int max_count = 1;           // --recount: 1..max_count boxes
  double min_area = 0.02;
  double max_area = 1.0 / 3.0;
  double min_aspect = 0.3;     // aspect in [0.3, 1/0.3], log-uniform
};

// With probability `probability`, erases 1..max_count boxes (each area/count of U(min_area, max_area), up to 10
// tries to fit), in place.
void random_erase(at::Tensor& image, const RandomErasingOptions& options, Rng& rng);

}  // namespace mae::data
