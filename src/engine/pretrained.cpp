#include "mae/engine/pretrained.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <set>

#include "mae/engine/checkpoint.h"
#include "mae/models/init.h"
#include "mae/models/pos_embed.h"
#include "mae/models/state_dict.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::engine {
namespace {

at::Tensor* find(models::NamedTensors& tensors, const std::string& name) {
  for (auto& [key, tensor] : tensors) {
    if (key == name) {
      return &tensor;
    }
  }
  return nullptr;
}

}  // namespace

PretrainedLoad load_pretrained_encoder(models::VisionTransformerImpl& model, const std::string& path,
                                       double head_init_std) {
  PretrainedLoad result;
  models::NamedTensors weights = load_model_weights(path);
  const models::NamedTensors ours = models::state_dict(model);

  for (const std::string name : {"head.weight", "head.bias"}) {
    const at::Tensor* theirs = find(weights, name);
    const auto mine = std::find_if(ours.begin(), ours.end(), [&](const auto& named) { return named.first == name; });
    if (theirs != nullptr && mine != ours.end() && theirs->sizes() != mine->second.sizes()) {
      std::erase_if(weights, [&](const auto& named) { return named.first == name; });
      result.head_dropped = true;
    }
  }
  if (at::Tensor* pos_embed = find(weights, "pos_embed")) {
    const int64_t grid = model.options().encoder.grid_size();
    if (pos_embed->size(-1) == model.pos_embed.size(-1) && pos_embed->size(1) != model.pos_embed.size(1)) {
      *pos_embed = models::interpolate_pos_embed(*pos_embed, 1, grid);
      result.pos_embed_interpolated = true;
    }
  }

  models::LoadReport report;
  try {
    report = models::load_state_dict(model, weights, /*strict=*/false);
  } catch (const Error& error) {
    throw UsageError(text("--finetune ", path, ": ", error.what()));
  }
  std::set<std::string> expected_missing{"head.weight", "head.bias"};
  if (model.options().global_pool) {
    expected_missing.insert({"fc_norm.weight", "fc_norm.bias"});
  }
  std::vector<std::string> lacking;  // encoder weights the checkpoint should have had
  for (const auto& name : report.missing_keys) {
    if (!expected_missing.contains(name)) {
      lacking.push_back(name);
    }
  }
  if (!lacking.empty()) {
    throw UsageError(text("--finetune ", path, ": the checkpoint lacks encoder weights the model needs: ", join(lacking, ", ", 6),
                          " (is it a checkpoint of this model?)"));
  }
  std::vector<std::string> present;  // classifier weights a pre-training checkpoint should not have
  for (const auto& name : expected_missing) {
    if (std::find(report.missing_keys.begin(), report.missing_keys.end(), name) == report.missing_keys.end()) {
      present.push_back(name);
    }
  }
  if (!present.empty()) {
    throw UsageError(text("--finetune ", path, ": the checkpoint already has classifier weights (", join(present, ", ", 6),
                          "): it is not a pre-training checkpoint; continue a fine-tuning with --resume, or evaluate "
                          "it with --eval --resume"));
  }
  result.unexpected_keys = std::move(report.unexpected_keys);
  at::Tensor head_weight = model.head->weight;
  models::trunc_normal_(head_weight, head_init_std);
  return result;
}

}  // namespace mae::engine
