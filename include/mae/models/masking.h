#pragma once
// Which patches the MAE removes (paper §4.1, Figure 6): random (the reference), BEiT-style blocks, or a regular grid.
// Every strategy is expressed as per-patch scores: the encoder keeps the len_keep patches with the smallest scores,
// so all strategies share random_masking's contract (exactly len_keep visible patches per sample, mask, ids_restore).
#include <ATen/core/Tensor.h>

#include <string>

namespace mae::models {

enum class MaskStrategy { random, block, grid };

// "random" | "block" | "grid"; anything else is a UsageError listing the three.
MaskStrategy parse_mask_strategy(const std::string& name);
std::string to_string(MaskStrategy strategy);

// [n, grid * grid] float32 scores on `device`; torch::manual_seed makes them reproducible:
//   random: U[0, 1) drawn on `device`, the reference's noise;
//   block:  (drawn on the CPU) BEiT's MaskingGenerator (blocks of >= 16 patches, aspect ratio in [0.3, 1/0.3], placed until
//           L - len_keep patches are covered or no block fits) scores a covered patch 1 + U[0, 1) and any other
//           U[0, 1); if the blocks fall short of the target, the uncovered patches with the largest draws are removed
//           too, so the count is always exact;
//   grid:   the patch at (even row, even column) of every 2x2 square is kept (score U[0, 1)), the other three removed
//           (1 + U[0, 1)). Needs an even grid and mask_ratio 0.75: anything else is a UsageError (validate() and
//           the config check them earlier, with the flags' names).
// The one check of --mask_ratio against the model: it must remove at least one of the grid x grid patches, and grid
// masking exactly three in four; throws UsageError. Jobs call it when they resolve the architecture.
void check_mask_ratio(MaskStrategy strategy, int64_t grid, double mask_ratio);

at::Tensor mask_scores(MaskStrategy strategy, int64_t n, int64_t grid, double mask_ratio, const at::Device& device);

// int(L * (1 - mask_ratio)), the reference's visible-patch count.
int64_t visible_patch_count(int64_t num_patches, double mask_ratio);

}  // namespace mae::models
