#include "mae/engine/param_groups.h"

#include <cmath>
#include <map>

#include "mae/util/strings.h"

namespace mae::engine {
namespace {

int64_t layer_id(const std::string& name, int64_t num_layers) {
  if (name == "cls_token" || name == "pos_embed" || name.starts_with("patch_embed")) {
    return 0;
  }
  if (name.starts_with("blocks.")) {
    return std::stoll(name.substr(7, name.find('.', 7) - 7)) + 1;
  }
  return num_layers;
}

}  // namespace

std::vector<ParamGroup> weight_decay_groups(const torch::nn::Module& model, double weight_decay) {
  ParamGroup no_decay{"no_decay", {}, {}, 0.0};
  ParamGroup decay{"decay", {}, {}, weight_decay};
  for (const auto& item : model.named_parameters()) {
    const at::Tensor& parameter = item.value();
    if (!parameter.requires_grad()) {
      continue;  // the fixed sin-cos tables
    }
    ParamGroup& group = parameter.dim() == 1 || item.key().ends_with(".bias") ? no_decay : decay;
    group.names.push_back(item.key());
    group.params.push_back(parameter);
  }
  return {no_decay, decay};
}

std::vector<ParamGroup> layer_decay_groups(const torch::nn::Module& model, int64_t depth, double weight_decay,
                                           double layer_decay, const std::set<std::string>& no_weight_decay) {
  const int64_t num_layers = depth + 1;
  std::vector<ParamGroup> groups;
  std::map<std::string, std::size_t> index_of;  // groups in order of their first parameter, as the reference's dict
  for (const auto& item : model.named_parameters()) {
    const at::Tensor& parameter = item.value();
    if (!parameter.requires_grad()) {
      continue;
    }
    const bool decays = !(parameter.dim() == 1 || no_weight_decay.contains(item.key()));
    const int64_t id = layer_id(item.key(), num_layers);
    const std::string name = text("layer_", id, "_", decays ? "decay" : "no_decay");
    auto [found, added] = index_of.try_emplace(name, groups.size());
    if (added) {
      ParamGroup group;
      group.name = name;
      group.weight_decay = decays ? weight_decay : 0.0;
      group.lr_scale = std::pow(layer_decay, static_cast<double>(num_layers - id));
      group.has_lr_scale = true;
      groups.push_back(group);
    }
    groups[found->second].names.push_back(item.key());
    groups[found->second].params.push_back(parameter);
  }
  return groups;
}

std::vector<ParamGroup> linear_probe_groups(const torch::nn::Module& probe_head, double weight_decay) {
  ParamGroup head{"head", {}, {}, weight_decay};
  for (const auto& item : probe_head.named_parameters()) {
    head.names.push_back("head." + item.key());
    head.params.push_back(item.value());
  }
  return {head};
}

}  // namespace mae::engine
