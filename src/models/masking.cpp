#include "mae/models/masking.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::models {
namespace {

// BEiT's MaskingGenerator (beit/masking_generator.py) on a grid x grid board: 1 = covered by a block. Stops when
// `target` patches are covered or ten tries in a row place nothing new; never covers more than `target`.
std::vector<uint8_t> block_mask(int64_t grid, int64_t target, std::mt19937_64& random) {
  const int64_t min_patches = std::min<int64_t>(16, target);
  const double log_aspect_min = std::log(0.3);
  const double log_aspect_max = std::log(1.0 / 0.3);
  std::vector<uint8_t> mask(static_cast<std::size_t>(grid * grid), 0);
  auto uniform = [&random](double a, double b) {  // as Python's random.uniform, also for a > b
    return a + (b - a) * std::uniform_real_distribution<double>(0.0, 1.0)(random);
  };
  auto integer = [&random](int64_t low, int64_t high) {  // inclusive, as random.randint
    return std::uniform_int_distribution<int64_t>(low, high)(random);
  };
  int64_t covered = 0;
  while (covered < target) {
    const int64_t room = target - covered;
    int64_t added = 0;
    for (int attempt = 0; attempt < 10 && added == 0; ++attempt) {
      const double area = uniform(static_cast<double>(min_patches), static_cast<double>(room));
      const double aspect = std::exp(uniform(log_aspect_min, log_aspect_max));
      const auto h = static_cast<int64_t>(std::nearbyint(std::sqrt(area * aspect)));
      const auto w = static_cast<int64_t>(std::nearbyint(std::sqrt(area / aspect)));
      if (w >= grid || h >= grid) {
        continue;
      }
      const int64_t top = integer(0, grid - h);
      const int64_t left = integer(0, grid - w);
      int64_t already = 0;
      for (int64_t i = top; i < top + h; ++i) {
        for (int64_t j = left; j < left + w; ++j) {
          already += mask[static_cast<std::size_t>(i * grid + j)];
        }
      }
      const int64_t fresh = h * w - already;
      if (fresh > 0 && fresh <= room) {
        for (int64_t i = top; i < top + h; ++i) {
          for (int64_t j = left; j < left + w; ++j) {
            mask[static_cast<std::size_t>(i * grid + j)] = 1;
          }
        }
        added = fresh;
      }
    }
    if (added == 0) {
      break;
    }
    covered += added;
  }
  return mask;
}

}  // namespace

MaskStrategy parse_mask_strategy(const std::string& name) {
  if (name == "random") {
    return MaskStrategy::random;
  }
  if (name == "block") {
    return MaskStrategy::block;
  }
  if (name == "grid") {
    return MaskStrategy::grid;
  }
  throw UsageError(text("unknown mask strategy '", name, "' (choose from random, block, grid)"));
}

std::string to_string(MaskStrategy strategy) {
  switch (strategy) {
    case MaskStrategy::random:
      return "random";
    case MaskStrategy::block:
      return "block";
    case MaskStrategy::grid:
      return "grid";
  }
  return "?";
}

int64_t visible_patch_count(int64_t num_patches, double mask_ratio) {
  return static_cast<int64_t>(static_cast<double>(num_patches) * (1.0 - mask_ratio));
}

void check_mask_ratio(MaskStrategy strategy, int64_t grid, double mask_ratio) {
  const int64_t length = grid * grid;
  // The loss averages over the removed patches: with none removed it is 0 / 0.
  if (visible_patch_count(length, mask_ratio) >= length) {
    throw UsageError(text("--mask_ratio ", mask_ratio, " removes none of the ", length, " patches: there is nothing to "
                          "reconstruct (use a ratio of at least 1 / ", length, ")"));
  }
  // The grid pattern keeps one patch in four (on an even grid, which models::validate requires), so the ratio must
  // remove exactly the other three.
  if (strategy == MaskStrategy::grid && visible_patch_count(length, mask_ratio) != length / 4) {
    throw UsageError(text("--mask_strategy grid keeps one patch of every 2x2 square: it needs --mask_ratio 0.75, got ",
                          mask_ratio));
  }
}

at::Tensor mask_scores(MaskStrategy strategy, int64_t n, int64_t grid, double mask_ratio, const at::Device& device) {
  const int64_t length = grid * grid;
  const auto float_cpu = at::TensorOptions().dtype(at::kFloat);
  if (strategy == MaskStrategy::random) {
    return at::rand({n, length}, float_cpu.device(device));  // models_mae.py's torch.rand(N, L, device=x.device)
  }
  at::Tensor scores = at::rand({n, length}, float_cpu);
  if (strategy == MaskStrategy::grid) {
    check_mask_ratio(strategy, grid, mask_ratio);
    const at::Tensor rows = at::arange(grid).remainder(2).view({grid, 1});
    const at::Tensor cols = at::arange(grid).remainder(2).view({1, grid});
    const at::Tensor removed = (rows + cols).gt(0).reshape({1, length}).to(at::kFloat);
    scores += removed;
  } else if (strategy == MaskStrategy::block) {
    const int64_t target = length - visible_patch_count(length, mask_ratio);
    // One seed per sample from torch's generator: reproducible under torch::manual_seed, independent per sample.
    const at::Tensor seeds = at::randint(int64_t{1} << 62, {n}, at::TensorOptions().dtype(at::kLong));
    float* data = scores.data_ptr<float>();
    const int64_t* seed = seeds.data_ptr<int64_t>();
    for (int64_t s = 0; s < n; ++s) {
      std::mt19937_64 random(static_cast<uint64_t>(seed[s]));
      const std::vector<uint8_t> covered = block_mask(grid, target, random);
      for (int64_t p = 0; p < length; ++p) {
        data[s * length + p] += covered[static_cast<std::size_t>(p)];
      }
    }
  }
  return scores.to(device);
}

}  // namespace mae::models
