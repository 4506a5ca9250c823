#include "mae/engine/grad_scaler.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

namespace mae::engine {

GradScaler::GradScaler(bool enabled, GradScalerState state) : enabled_(enabled), state_(state) {}

void GradScaler::load(const GradScalerState& state) {
  state_ = state;
  scale_ = at::Tensor();
}

std::optional<GradScalerState> GradScaler::state() const {
  if (!enabled_) {
    return std::nullopt;
  }
  GradScalerState current = state_;
  if (scale_.defined()) {
    current.scale = scale_.item<double>();
    current.growth_tracker = growth_tracker_.item<int64_t>();
  }
  return current;
}

at::Tensor GradScaler::scale(const at::Tensor& loss) {
  if (!enabled_) {
    return loss;
  }
  if (!scale_.defined()) {  // created lazily, on the loss's device
    scale_ = at::full({}, state_.scale, loss.options().dtype(at::kFloat));
    growth_tracker_ = at::full({}, state_.growth_tracker, loss.options().dtype(at::kInt));
  }
  return loss * scale_;
}

namespace {

std::vector<at::Tensor> defined_grads(const std::vector<at::Tensor>& parameters) {
  std::vector<at::Tensor> grads;
  for (const auto& parameter : parameters) {
    if (parameter.grad().defined()) {
      grads.push_back(parameter.grad());
    }
  }
  return grads;
}

// The total 2-norm of `grads` as a 0-d tensor on their device (no host synchronisation); clipped when max_norm is set.
at::Tensor clip_grads(const std::vector<at::Tensor>& grads, std::optional<double> max_norm) {
  if (grads.empty()) {
    return at::zeros({});
  }
  const at::Tensor total = at::linalg_vector_norm(at::stack(at::_foreach_norm(grads, 2.0)), 2.0);
  if (max_norm) {
    const at::Tensor coefficient = at::clamp_max(*max_norm / (total + 1e-6), 1.0);
    at::_foreach_mul_(grads, coefficient);
  }
  return total;
}

}  // namespace

at::Tensor GradScaler::unscale_clip_and_step(Optimizer& optimizer, std::optional<double> clip_grad) {
  const c10::NoGradGuard no_grad;
  const std::vector<at::Tensor> grads = defined_grads(optimizer.parameters());
  if (!enabled_) {
    const at::Tensor norm = clip_grads(grads, clip_grad);
    optimizer.step();
    return norm;
  }
  at::Tensor found_inf = at::zeros({}, scale_.options());
  at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, scale_.reciprocal());
  const at::Tensor norm = clip_grads(grads, clip_grad);
  if (found_inf.item<float>() == 0.0F) {
    optimizer.step();
  }
  at::_amp_update_scale_(scale_, growth_tracker_, found_inf, state_.growth_factor, state_.backoff_factor,
                         state_.growth_interval);
  return norm;
}

double clip_grad_norm(const std::vector<at::Tensor>& parameters, std::optional<double> max_norm) {
  const c10::NoGradGuard no_grad;
  return clip_grads(defined_grads(parameters), max_norm).item<double>();
}

}  // namespace mae::engine
