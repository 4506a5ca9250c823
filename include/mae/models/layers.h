#pragma once
// The ViT building blocks of timm 0.3.2 as models_mae.py / models_vit.py use them, under the same member names.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace mae::models {

// Conv2d(in_chans, D, kernel p, stride p), then [N, D, h, w] -> [N, h*w, D].
class PatchEmbedImpl : public torch::nn::Module {
 public:
  PatchEmbedImpl(int64_t img_size, int64_t patch_size, int64_t in_chans, int64_t embed_dim);
  at::Tensor forward(const at::Tensor& images);

  int64_t img_size;
  int64_t patch_size;
  torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

// Multi-head self-attention with one fused qkv projection; the product runs through
// at::scaled_dot_product_attention (scale head_dim^-0.5, as qk_scale=None).
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t dim, int64_t num_heads, bool qkv_bias = true);
  at::Tensor forward(const at::Tensor& x);

  int64_t num_heads;
  torch::nn::Linear qkv{nullptr};
  torch::nn::Linear proj{nullptr};
};
TORCH_MODULE(Attention);

// fc1 -> exact GELU -> fc2.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t in_features, int64_t hidden_features);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Linear fc1{nullptr};
  torch::nn::Linear fc2{nullptr};
};
TORCH_MODULE(Mlp);

// Stochastic depth per sample: in training, zeroes whole residual branches with probability p and scales the kept
// ones by 1/(1-p); identity in eval mode or with p = 0.
class DropPathImpl : public torch::nn::Module {
 public:
  explicit DropPathImpl(double drop_prob = 0.0) : drop_prob(drop_prob) {}
  at::Tensor forward(const at::Tensor& x);

  double drop_prob;
};
TORCH_MODULE(DropPath);

// Pre-norm transformer block: x + drop_path(attn(norm1(x))), then x + drop_path(mlp(norm2(x))); LayerNorm eps 1e-6.
class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(int64_t dim, int64_t num_heads, double mlp_ratio, double drop_path = 0.0);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::LayerNorm norm1{nullptr};
  Attention attn{nullptr};
  DropPath drop_path{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(Block);

// x through each Block of `blocks` in turn (the MAE's encoder and decoder, the ViT).
at::Tensor run_blocks(torch::nn::ModuleList& blocks, at::Tensor x);

// LayerNorm(dim, eps=1e-6), the norm_layer of every MAE model.
torch::nn::LayerNorm make_layer_norm(int64_t dim);

}  // namespace mae::models
