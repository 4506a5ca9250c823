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

double GradScaler::unscale_clip_and_step(Optimizer& optimizer, std::optional<double> clip_grad) {
  const c10::NoGradGuard no_grad;
  std::vector<at::Tensor> parameters = optimizer.parameters();
  if (!enabled_) {
    const double norm = clip_grad_norm(parameters, clip_grad);
    optimizer.step();
    return norm;
  }
  std::vector<at::Tensor> grads;
  for (const auto& parameter : parameters) {
    if (parameter.grad().defined()) {
      grads.push_back(parameter.grad());
    }
  }
  at::Tensor found_inf = at::zeros({}, scale_.options());
  at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, scale_.reciprocal());
  const double norm = clip_grad_norm(parameters, clip_grad);
  if (found_inf.item<float>() == 0.0F) {
    optimizer.step();
  }
  at::_amp_update_scale_(scale_, growth_tracker_, found_inf, state_.growth_factor, state_.backoff_factor,
                         state_.growth_interval);
  return norm;
}

double clip_grad_norm(const std::vector<at::Tensor>& parameters, std::optional<double> max_norm) {
  const c10::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  for (const auto& parameter : parameters) {
    if (parameter.grad().defined()) {
      grads.push_back(parameter.grad());
    }
  }
  if (grads.empty()) {
    return 0.0;
  }
  const at::Tensor total = at::linalg_vector_norm(at::stack(at::_foreach_norm(grads, 2.0)), 2.0);
  if (max_norm) {
    const at::Tensor coefficient = at::clamp_max(*max_norm / (total + 1e-6), 1.0);
    at::_foreach_mul_(grads, coefficient);
  }
  return total.item<double>();
}

}  // namespace mae::engine
