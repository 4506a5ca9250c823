#pragma once
// Optimizer parameter groups as the reference builds them.
#include <torch/nn/module.h>

#include <set>
#include <string>
#include <vector>

namespace mae::engine {

struct ParamGroup {
  std::string name;                // "decay", "no_decay", "layer_3_decay", ...
  std::vector<std::string> names;  // parameter names, for logs and tests
  std::vector<at::Tensor> params;
  double weight_decay = 0.0;
  double lr_scale = 1.0;
  bool has_lr_scale = false;  // the reference's finetune groups carry "lr_scale"; pretrain groups do not
  double lr = 0.0;            // set by the schedule every update step
};

// timm 0.3.2 optim_factory.add_weight_decay (pre-training): trainable 1-D parameters and biases without weight decay,
// everything else with it, in the order [no_decay, decay]. Like the reference, cls_token and mask_token are decayed
// (quirk Q3: they are 3-D and not in a skip list).
std::vector<ParamGroup> weight_decay_groups(const torch::nn::Module& model, double weight_decay);

// util/lr_decay.param_groups_lrd (fine-tuning): groups "layer_<id>_<decay|no_decay>" with lr_scale =
// layer_decay^(num_layers - id), num_layers = depth + 1; id 0 for cls_token, pos_embed, patch_embed.*, k + 1 for
// blocks.k.*, num_layers for the rest. No weight decay for 1-D parameters and for `no_weight_decay` names.
std::vector<ParamGroup> layer_decay_groups(const torch::nn::Module& model, int64_t depth, double weight_decay,
                                           double layer_decay,
                                           const std::set<std::string>& no_weight_decay = {"pos_embed", "cls_token"});

// main_linprobe.py: one group "head" of the linear-probe head's parameters (named head.<name>), for LARS.
std::vector<ParamGroup> linear_probe_groups(const torch::nn::Module& probe_head, double weight_decay);

}  // namespace mae::engine
