#pragma once
// The optimizers of the reference: AdamW (pre-training, fine-tuning) through LibTorch's fused kernel, and LARS
// (util/lars.py, linear probing). Their state_dict() has torch.optim's layout, so checkpoints resume in either code.
#include <ATen/core/ivalue.h>

#include <array>
#include <map>
#include <string>
#include <vector>

#include "mae/engine/param_groups.h"

namespace mae::engine {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Updates every parameter that has a gradient; parameters without one are left alone, as in torch.optim.
  virtual void step() = 0;

  void zero_grad();  // gradients to None
  // adjust_learning_rate: lr * lr_scale for groups that have a scale, lr for the others.
  void set_lr(double lr);
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  // Every parameter, in group order (the indices of state_dict()).
  std::vector<at::Tensor> parameters() const;

  // {'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}. The state's tensors are the
  // optimizer's own, on their device, as torch's: whoever keeps them copies them (snapshot_training_state does).
  c10::IValue state_dict() const;
  // Restores the per-parameter state; the group layout must be the same (names the first difference otherwise).
  void load_state_dict(const c10::IValue& state_dict);

 protected:
  explicit Optimizer(std::vector<ParamGroup> groups);
  virtual void add_hyperparameters(c10::impl::GenericDict& group, const ParamGroup& source) const = 0;

  std::vector<ParamGroup> groups_;
  std::vector<std::map<std::string, at::Tensor>> state_;  // by parameter index
};

class AdamW : public Optimizer {
 public:
  AdamW(std::vector<ParamGroup> groups, double lr, std::array<double, 2> betas = {0.9, 0.999}, double eps = 1e-8);
  // One at::_fused_adamw_ call per group (decoupled weight decay, bias correction, as torch.optim.AdamW).
  void step() override;

 private:
  void add_hyperparameters(c10::impl::GenericDict& group, const ParamGroup& source) const override;
  std::array<double, 2> betas_;
  double eps_;
};

class Lars : public Optimizer {
 public:
  Lars(std::vector<ParamGroup> groups, double lr, double momentum = 0.9, double trust_coefficient = 0.001);
  // util/lars.py: for >1-D parameters dp = g + wd * p scaled by trust * |p| / |dp| (1 when either norm is 0);
  // mu = momentum * mu + dp; p -= lr * mu. 1-D parameters get neither weight decay nor the trust ratio.
  void step() override;

 private:
  void add_hyperparameters(c10::impl::GenericDict& group, const ParamGroup& source) const override;
  double momentum_;
  double trust_coefficient_;
};

}  // namespace mae::engine
