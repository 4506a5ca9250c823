#include "mae/models/vit.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>

#include "mae/models/init.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::models {

VisionTransformerImpl::VisionTransformerImpl(const VitOptions& options) : options_(options) {
  validate(options_);
  const EncoderOptions& e = options_.encoder;
  patch_embed = register_module("patch_embed", PatchEmbed(e.img_size, e.patch_size, e.in_chans, e.embed_dim));
  cls_token = register_parameter("cls_token", at::zeros({1, 1, e.embed_dim}));
  pos_embed = register_parameter("pos_embed", at::zeros({1, e.num_patches() + 1, e.embed_dim}));
  blocks = register_module("blocks", torch::nn::ModuleList());
  // Stochastic depth grows linearly from 0 at the first block to drop_path_rate at the last.
  const at::Tensor rates = at::linspace(0.0, options_.drop_path_rate, e.depth, at::TensorOptions().dtype(at::kFloat));
  for (int64_t i = 0; i < e.depth; ++i) {
    blocks->push_back(Block(e.embed_dim, e.num_heads, e.mlp_ratio, rates[i].item<double>()));
  }
  if (!options_.global_pool) {
    norm = register_module("norm", make_layer_norm(e.embed_dim));
  }
  head = register_module("head", torch::nn::Linear(e.embed_dim, options_.num_classes));
  if (options_.global_pool) {
    fc_norm = register_module("fc_norm", make_layer_norm(e.embed_dim));
  }

  // timm's VisionTransformer init: trunc-normal(0.02) tokens and Linear weights, zero biases, LayerNorm 1/0.
  const c10::NoGradGuard no_grad;
  trunc_normal_(pos_embed, 0.02);
  trunc_normal_(cls_token, 0.02);
  apply([](torch::nn::Module& module) {
    if (auto* linear = module.as<torch::nn::LinearImpl>()) {
      trunc_normal_(linear->weight, 0.02);
      torch::nn::init::zeros_(linear->bias);
    } else if (auto* layer_norm = module.as<torch::nn::LayerNormImpl>()) {
      torch::nn::init::ones_(layer_norm->weight);
      torch::nn::init::zeros_(layer_norm->bias);
    }
  });
}

at::Tensor VisionTransformerImpl::forward_tokens(const at::Tensor& imgs) {
  const at::Tensor x = patch_embed->forward(imgs);
  return run_blocks(blocks, at::cat({cls_token.expand({x.size(0), -1, -1}), x}, 1) + pos_embed,
                    grad_checkpointing_ && is_training());
}

at::Tensor VisionTransformerImpl::forward_features(const at::Tensor& imgs) {
  const at::Tensor x = forward_tokens(imgs);
  if (options_.global_pool) {
    return fc_norm->forward(x.slice(1, 1).mean(1));
  }
  return norm->forward(x).select(1, 0);
}

at::Tensor VisionTransformerImpl::forward(const at::Tensor& imgs) {
  const at::Tensor features = forward_features(imgs);
  return has_linear_probe_head() ? probe_head->forward(features) : head->forward(features);
}

void VisionTransformerImpl::use_linear_probe_head() {
  if (has_linear_probe_head()) {
    return;
  }
  const auto batch_norm = torch::nn::BatchNorm1d(
      torch::nn::BatchNormOptions(options_.encoder.embed_dim).affine(false).eps(1e-6));
  probe_head = torch::nn::Sequential(batch_norm, head);
  replace_module("head", probe_head);
}

void freeze_all_but_head(torch::nn::Module& model) {
  for (auto& item : model.named_parameters()) {
    item.value().set_requires_grad(item.key().starts_with("head."));
  }
}

void freeze_all_but_last_blocks(VisionTransformerImpl& model, int64_t trainable_blocks) {
  const int64_t depth = model.options().encoder.depth;
  if (trainable_blocks < 0 || trainable_blocks > depth) {
    throw UsageError(text("--finetune_blocks ", trainable_blocks, " is not between 0 and the model's ", depth,
                          " blocks"));
  }
  for (auto& item : model.named_parameters()) {
    const std::string& name = item.key();
    bool trainable = name.starts_with("head.") || name.starts_with("fc_norm.") || name.starts_with("norm.");
    for (int64_t block = depth - trainable_blocks; block < depth && !trainable; ++block) {
      trainable = name.starts_with(text("blocks.", block, "."));
    }
    item.value().set_requires_grad(trainable);
  }
}

}  // namespace mae::models
