#include "mae/jobs/feature_encoder.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>

#include "mae/config/job_config.h"
#include "mae/jobs/architecture_settings.h"
#include "mae/engine/checkpoint.h"
#include "mae/models/pos_embed.h"
#include "mae/models/state_dict.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::jobs {
namespace {

bool has(const models::NamedTensors& weights, const std::string& name) {
  return std::any_of(weights.begin(), weights.end(), [&](const auto& entry) { return entry.first == name; });
}

std::string first_keys(const models::NamedTensors& weights) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : weights) {
    names.push_back(name);
  }
  return names.empty() ? std::string("none") : join(names, ", ", 6);
}

// Keys of a classifier head (head.*, or the probe's head.0.* / head.1.*) and of the MAE's decoder: not the encoder's.
bool encoder_weight(const std::string& name) {
  return !name.starts_with("head.") && !name.starts_with("decoder_") && name != "mask_token";
}

}  // namespace

models::VisionTransformer load_feature_encoder(const std::string& path, config::ClassifierConfig& frame) {
  models::NamedTensors weights = engine::load_model_weights(path);
  if (!has(weights, "patch_embed.proj.weight") || !has(weights, "blocks.0.attn.qkv.weight")) {
    throw UsageError(text("'", path, "' is not an MAE or ViT checkpoint: it has no patch_embed.proj.weight and "
                          "blocks.0.attn.qkv.weight (its keys: ", first_keys(weights), ")"));
  }
  std::erase_if(weights, [](const auto& entry) { return !encoder_weight(entry.first); });
  frame.global_pool = has(weights, "fc_norm.weight");
  frame.nb_classes = 1;  // the head is not used
  models::VitOptions options = resolve_vit_architecture(frame, architecture_args_of(path, frame), path);
  options.drop_path_rate = 0.0;
  models::VisionTransformer model(options);
  for (auto& [name, tensor] : weights) {
    if (name == "pos_embed" && tensor.dim() == 3 && tensor.size(1) != model->pos_embed.size(1)) {
      tensor = models::interpolate_pos_embed(tensor, 1, options.encoder.grid_size());
    }
  }
  models::LoadReport report;
  try {
    report = models::load_state_dict(*model, weights, /*strict=*/false);
  } catch (const Error& error) {
    throw UsageError(text("'", path, "': ", error.what()));
  }
  std::erase_if(report.missing_keys, [](const std::string& name) { return name.starts_with("head."); });
  if (!report.missing_keys.empty()) {
    throw UsageError(text("'", path, "' lacks encoder weights of ", models::describe(options.encoder), ": ",
                          join(report.missing_keys, ", ", 6), " (is it a checkpoint of this model?)"));
  }
  model->eval();
  return model;
}

models::VisionTransformer feature_encoder_of(const models::MaeOptions& mae) {
  models::VitOptions options;
  options.encoder = mae.encoder;
  options.num_classes = 1;
  options.drop_path_rate = 0.0;
  options.global_pool = false;
  models::VisionTransformer model(options);
  model->eval();
  return model;
}

void copy_encoder_weights(models::MaskedAutoencoderViTImpl& mae, models::VisionTransformerImpl& encoder) {
  models::NamedTensors weights = models::state_dict(mae);
  std::erase_if(weights, [](const auto& entry) { return !encoder_weight(entry.first); });
  const c10::NoGradGuard no_grad;
  const models::LoadReport report = models::load_state_dict(encoder, weights, /*strict=*/false);
  if (std::any_of(report.missing_keys.begin(), report.missing_keys.end(),
                  [](const std::string& name) { return !name.starts_with("head."); })) {
    throw Error(text("the feature encoder lacks ", join(report.missing_keys, ", ", 6), " after copying the MAE's"));
  }
}

}  // namespace mae::jobs
