#include "mae/engine/optimizer.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::engine {
namespace {

c10::impl::GenericDict any_dict() { return c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get()); }

}  // namespace

Optimizer::Optimizer(std::vector<ParamGroup> groups) : groups_(std::move(groups)) {
  std::size_t count = 0;
  for (const auto& group : groups_) {
    count += group.params.size();
  }
  state_.resize(count);
}

std::vector<at::Tensor> Optimizer::parameters() const {
  std::vector<at::Tensor> all;
  for (const auto& group : groups_) {
    all.insert(all.end(), group.params.begin(), group.params.end());
  }
  return all;
}

void Optimizer::zero_grad() {
  for (auto& group : groups_) {
    for (auto& parameter : group.params) {
      parameter.mutable_grad() = at::Tensor();
    }
  }
}

void Optimizer::set_lr(double lr) {
  for (auto& group : groups_) {
    group.lr = group.has_lr_scale ? lr * group.lr_scale : lr;
  }
}

c10::IValue Optimizer::state_dict() const {
  auto state = any_dict();
  for (std::size_t index = 0; index < state_.size(); ++index) {
    if (state_[index].empty()) {
      continue;
    }
    auto entry = any_dict();
    for (const auto& [key, tensor] : state_[index]) {
      entry.insert(key, tensor);  // the live tensor, as torch's state_dict(): snapshot_training_state copies it
    }
    state.insert(static_cast<int64_t>(index), entry);
  }
  c10::impl::GenericList groups(c10::AnyType::get());
  int64_t index = 0;
  for (const auto& source : groups_) {
    auto group = any_dict();
    group.insert("lr", source.lr);
    group.insert("weight_decay", source.weight_decay);
    add_hyperparameters(group, source);
    if (source.has_lr_scale) {
      group.insert("lr_scale", source.lr_scale);
    }
    c10::impl::GenericList params(c10::AnyType::get());
    for (std::size_t i = 0; i < source.params.size(); ++i) {
      params.push_back(index++);
    }
    group.insert("params", params);
    groups.push_back(group);
  }
  auto result = any_dict();
  result.insert("state", state);
  result.insert("param_groups", groups);
  return result;
}

void Optimizer::load_state_dict(const c10::IValue& saved) {
  const auto dict = saved.toGenericDict();
  const auto groups = dict.at("param_groups").toListRef();
  if (groups.size() != groups_.size()) {
    throw UsageError(text("the checkpoint's optimizer has ", groups.size(), " parameter groups, this run has ",
                          groups_.size(), " (another model or another optimizer setup?)"));
  }
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto saved_params = groups[g].toGenericDict().at("params").toListRef();
    if (saved_params.size() != groups_[g].params.size()) {
      throw UsageError(text("the checkpoint's optimizer group ", g, " has ", saved_params.size(),
                            " parameters, this run's '", groups_[g].name, "' has ", groups_[g].params.size()));
    }
  }
  const std::vector<at::Tensor> all = parameters();
  std::vector<std::map<std::string, at::Tensor>> restored(state_.size());
  for (const auto& entry : dict.at("state").toGenericDict()) {
    const auto index = static_cast<std::size_t>(entry.key().toInt());
    if (index >= restored.size()) {
      throw UsageError(text("the checkpoint's optimizer state names parameter ", index, " of ", restored.size()));
    }
    for (const auto& field : entry.value().toGenericDict()) {
      at::Tensor value = field.value().toTensor();
      if (value.dim() > 0 && value.sizes() != all[index].sizes()) {
        throw UsageError(text("the checkpoint's optimizer state '", field.key().toStringRef(), "' of parameter ",
                              index, " has shape ", value.sizes(), ", the parameter ", all[index].sizes()));
      }
      restored[index][field.key().toStringRef()] =
          value.to(value.dim() > 0 ? all[index].options() : value.options().device(all[index].device()));
    }
  }
  state_ = std::move(restored);
}

AdamW::AdamW(std::vector<ParamGroup> groups, double lr, std::array<double, 2> betas, double eps)
    : Optimizer(std::move(groups)), betas_(betas), eps_(eps) {
  set_lr(lr);
}

void AdamW::step() {
  const c10::NoGradGuard no_grad;
  std::size_t offset = 0;
  for (auto& group : groups_) {
    std::vector<at::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      at::Tensor& parameter = group.params[i];
      if (!parameter.grad().defined()) {
        continue;
      }
      auto& state = state_[offset + i];
      if (state.empty()) {
        state["step"] = at::zeros({}, parameter.options().dtype(at::kFloat));
        state["exp_avg"] = at::zeros_like(parameter);
        state["exp_avg_sq"] = at::zeros_like(parameter);
      }
      params.push_back(parameter);
      grads.push_back(parameter.grad());
      exp_avgs.push_back(state["exp_avg"]);
      exp_avg_sqs.push_back(state["exp_avg_sq"]);
      steps.push_back(state["step"]);
    }
    offset += group.params.size();
    if (params.empty()) {
      continue;
    }
    at::_foreach_add_(steps, 1);  // torch.optim's _fused_adamw increments the steps before the kernel
    at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, {}, steps, group.lr, betas_[0], betas_[1],
                      group.weight_decay, eps_, /*amsgrad=*/false, /*maximize=*/false);
  }
}

void AdamW::add_hyperparameters(c10::impl::GenericDict& group, const ParamGroup&) const {
  group.insert("betas", c10::ivalue::Tuple::create({betas_[0], betas_[1]}));
  group.insert("eps", eps_);
  group.insert("amsgrad", false);
  group.insert("maximize", false);
  group.insert("foreach", c10::IValue());
  group.insert("capturable", false);
  group.insert("differentiable", false);
  group.insert("fused", true);
}

Lars::Lars(std::vector<ParamGroup> groups, double lr, double momentum, double trust_coefficient)
    : Optimizer(std::move(groups)), momentum_(momentum), trust_coefficient_(trust_coefficient) {
  set_lr(lr);
}

void Lars::step() {
  const c10::NoGradGuard no_grad;
  std::size_t offset = 0;
  for (auto& group : groups_) {
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      at::Tensor& parameter = group.params[i];
      if (!parameter.grad().defined()) {
        continue;
      }
      at::Tensor update = parameter.grad();
      if (parameter.dim() > 1) {
        update = update.add(parameter, group.weight_decay);
        const at::Tensor parameter_norm = at::norm(parameter);
        const at::Tensor update_norm = at::norm(update);
        const at::Tensor one = at::ones_like(parameter_norm);
        const at::Tensor trust =
            at::where(parameter_norm > 0.0,
                      at::where(update_norm > 0.0, trust_coefficient_ * parameter_norm / update_norm, one), one);
        update = update.mul(trust);
      }
      auto& state = state_[offset + i];
      if (!state.contains("mu")) {
        state["mu"] = at::zeros_like(parameter);
      }
      at::Tensor& mu = state["mu"];
      mu.mul_(momentum_).add_(update);
      parameter.add_(mu, -group.lr);
    }
    offset += group.params.size();
  }
}

void Lars::add_hyperparameters(c10::impl::GenericDict& group, const ParamGroup&) const {
  group.insert("momentum", momentum_);
  group.insert("trust_coefficient", trust_coefficient_);
}

}  // namespace mae::engine
