#pragma once
// The loss scaling and gradient step of util/misc.NativeScalerWithGradNormCount: torch.cuda.amp.GradScaler for fp16
// (dynamic scale through the _amp_foreach_non_finite_check_and_unscale_ / _amp_update_scale_ kernels), unscaling
// before clipping, and the gradient norm it returns. Without fp16 it is a pass-through with scale 1.
#include <ATen/core/Tensor.h>

#include <optional>

#include "mae/engine/checkpoint.h"
#include "mae/engine/optimizer.h"

namespace mae::engine {

class GradScaler {
 public:
  explicit GradScaler(bool enabled, GradScalerState state = {});

  at::Tensor scale(const at::Tensor& loss);
  // On an update step: unscale the gradients, clip them to `clip_grad` (or just measure their norm), step the
  // optimizer unless a gradient is inf/NaN, update the scale. Returns the total 2-norm of the unscaled gradients as
  // a 0-d tensor on their device, so that a caller that ignores it pays no host synchronisation.
  at::Tensor unscale_clip_and_step(Optimizer& optimizer, std::optional<double> clip_grad);

  bool enabled() const { return enabled_; }
  std::optional<GradScalerState> state() const;  // for checkpoints; nothing when disabled
  void load(const GradScalerState& state);

 private:
  bool enabled_;
  GradScalerState state_;
  at::Tensor scale_;           // float32 scalar on the gradients' device
  at::Tensor growth_tracker_;  // int32 scalar
};

// torch.nn.utils.clip_grad_norm_ (max_norm = nullopt: only the norm): the total 2-norm of all gradients.
double clip_grad_norm(const std::vector<at::Tensor>& parameters, std::optional<double> max_norm);

}  // namespace mae::engine
