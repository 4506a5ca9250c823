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
  // The embeddings of the patches `ids` ([N, K], row-major patch indices) only, [N, K, D]: the stride-p
  // convolution is one matrix product per patch, so the others need not be computed.
  at::Tensor forward_patches(const at::Tensor& images, const at::Tensor& ids);

  int64_t img_size;
  int64_t patch_size;
  torch::nn::Conv2d proj{nullptr};

 private:
  void check_input(const at::Tensor& images) const;
};
TORCH_MODULE(PatchEmbed);

// Multi-head self-attention with one fused qkv projection; softmax(q k^T * head_dim^-0.5) v (qk_scale=None) runs
// through at::scaled_dot_product_attention, or as explicit products for short fp32 sequences on the CPU.
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t dim, int64_t num_heads, bool qkv_bias = true);
  // Every token attends to all of x, but only tokens [first_query, N) are computed and returned.
  at::Tensor forward(const at::Tensor& x, int64_t first_query = 0);
  // The same from qkv->forward(x) ([B, N, 3D]), for callers that computed some of its rows once for many samples.
  at::Tensor forward_projected(const at::Tensor& qkv_rows, int64_t first_query = 0);

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
  // The output rows [first_row, N) only; they still attend to every row of x.
  at::Tensor forward(const at::Tensor& x, int64_t first_row = 0);
  // forward(cat(own, gather_tokens(shared, shared_ids)), first_row) where `shared` ([1, S, D]) holds rows that many
  // samples have in common (the MAE decoder's mask tokens): their norm1 and qkv projection run once per row of
  // `shared`, not once per sample.
  at::Tensor forward_with_shared_rows(const at::Tensor& own, const at::Tensor& shared, const at::Tensor& shared_ids,
                                      int64_t first_row = 0);

  torch::nn::LayerNorm norm1{nullptr};
  Attention attn{nullptr};
  DropPath drop_path{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  Mlp mlp{nullptr};

 private:
  // rows + drop_path(attended), then the MLP half of the block.
  at::Tensor finish(const at::Tensor& rows, const at::Tensor& attended);
};
TORCH_MODULE(Block);

// x through each Block of `blocks` in turn (the MAE's encoder and decoder, the ViT); with `checkpoint`, each block
// recomputes its activations in backward instead of keeping them (grad_checkpoint.h).
at::Tensor run_blocks(torch::nn::ModuleList& blocks, at::Tensor x, bool checkpoint = false);

// Tokens `ids` ([N, K]) of each sample of x ([N, L, D], or [1, L, D] shared by all samples) -> [N, K, D].
at::Tensor gather_tokens(const at::Tensor& x, const at::Tensor& ids);

// LayerNorm(dim, eps=1e-6), the norm_layer of every MAE model.
torch::nn::LayerNorm make_layer_norm(int64_t dim);

}  // namespace mae::models
