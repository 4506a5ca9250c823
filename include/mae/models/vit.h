#pragma once
// models_vit.py: the ViT classifier for fine-tuning and linear probing.
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>

#include "mae/models/architecture.h"
#include "mae/models/layers.h"

namespace mae::models {

class VisionTransformerImpl : public torch::nn::Module {
 public:
  explicit VisionTransformerImpl(const VitOptions& options);

  at::Tensor forward(const at::Tensor& imgs);           // logits [N, num_classes]
  at::Tensor forward_features(const at::Tensor& imgs);  // [N, D]: fc_norm(mean of patch tokens) or norm(x)[:, 0]
  // [N, 1 + L, D]: the class token and the patch tokens after the last block, before either norm (what
  // forward_features pools; models/features.h pools it other ways).
  at::Tensor forward_tokens(const at::Tensor& imgs);

  // main_linprobe.py: head = Sequential(BatchNorm1d(D, affine=False, eps=1e-6), head), giving head.0.* / head.1.*.
  void use_linear_probe_head();
  bool has_linear_probe_head() const { return !probe_head.is_empty(); }
  // The Linear that produces the logits (head, or head.1 with the linear-probe head).
  torch::nn::Linear classifier() const { return head; }

  const VitOptions& options() const { return options_; }

  // timm's set_grad_checkpointing: in training, every block recomputes its activations in backward instead of
  // keeping them (grad_checkpoint.h), for the same gradients.
  void set_grad_checkpointing(bool enable = true) { grad_checkpointing_ = enable; }

  PatchEmbed patch_embed{nullptr};
  at::Tensor cls_token;
  at::Tensor pos_embed;  // learnable here (trunc-normal 0.02 until a checkpoint overwrites it)
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};     // only with the class token
  torch::nn::Linear head{nullptr};
  torch::nn::LayerNorm fc_norm{nullptr};  // only with global pooling
  torch::nn::Sequential probe_head{nullptr};

 private:
  VitOptions options_;
  bool grad_checkpointing_ = false;
};
TORCH_MODULE(VisionTransformer);

// Linear probing: requires_grad = false on every parameter whose name does not start with "head.".
void freeze_all_but_head(torch::nn::Module& model);

// Partial fine-tuning (paper §4.3, Figure 9): only the last `trainable_blocks` blocks, the final norm (fc_norm with
// global pooling, norm with the class token) and the head keep requires_grad. 0 leaves the norm and the head.
void freeze_all_but_last_blocks(VisionTransformerImpl& model, int64_t trainable_blocks);

}  // namespace mae::models
