#pragma once
// timm's Mixup / CutMix for fine-tuning, with label smoothing folded into the soft targets, applied to a batch.
#include <ATen/core/Tensor.h>

#include <array>
#include <optional>
#include <string>

#include "mae/data/augment/rng.h"

namespace mae::data {

struct MixupOptions {
  double mixup_alpha = 0.0;                            // --mixup
  double cutmix_alpha = 0.0;                           // --cutmix
  std::optional<std::array<double, 2>> cutmix_minmax;  // --cutmix_minmax (enables cutmix with alpha 1)
  double prob = 1.0;                                   // --mixup_prob
  double switch_prob = 0.5;                            // --mixup_switch_prob
  std::string mode = "batch";                          // --mixup_mode: batch, pair or elem
  double label_smoothing = 0.1;                        // --smoothing
  int64_t num_classes = 1000;                          // --nb_classes
};

// One-hot targets with smoothing: off = s / C, on = 1 - s + s / C.
at::Tensor smoothed_one_hot(const at::Tensor& labels, int64_t num_classes, double smoothing);

struct Mixed {
  at::Tensor targets;  // [B, num_classes] soft targets
  at::Tensor lambda;   // [B] weight of each sample's own image and label
};

class Mixup {
 public:
  explicit Mixup(MixupOptions options);

  // main_finetune.py enables it when mixup > 0, cutmix > 0 or cutmix_minmax is set.
  bool active() const;

  // Mixes `images` ([B, C, H, W], B even) in place with the batch reversed (sample i with B-1-i), as timm does, and
  // returns the soft targets. Throws UsageError for an odd batch.
  Mixed apply(at::Tensor& images, const at::Tensor& labels, Rng& rng) const;

 private:
  // lambda and whether to cut instead of blend, drawn as timm's _params_per_batch / _params_per_elem.
  std::pair<double, bool> draw(Rng& rng) const;
  struct Box {
    int64_t top = 0, bottom = 0, left = 0, right = 0;
    double lambda = 1.0;  // corrected: the share of the image outside the box
    at::Tensor of(const at::Tensor& image) const;  // the box's view of [..., H, W]
  };
  // timm's cutmix_bbox_and_lam: rand_bbox (or rand_bbox_minmax) and the area-corrected lambda.
  Box cut_box(int64_t height, int64_t width, double lambda, Rng& rng) const;

  MixupOptions options_;
};

}  // namespace mae::data
