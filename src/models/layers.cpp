#include "mae/models/layers.h"

#include <ATen/ATen.h>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::models {

PatchEmbedImpl::PatchEmbedImpl(int64_t img_size_, int64_t patch_size_, int64_t in_chans, int64_t embed_dim)
    : img_size(img_size_), patch_size(patch_size_) {
  proj = register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_chans, embed_dim, patch_size).stride(patch_size)));
}

at::Tensor PatchEmbedImpl::forward(const at::Tensor& images) {
  if (images.dim() != 4 || images.size(2) != img_size || images.size(3) != img_size) {
    throw Error(text("input of shape ", images.sizes(), " does not match the model: expected [N, C, ", img_size, ", ",
                    img_size, "] (--input_size)"));
  }
  return proj->forward(images).flatten(2).transpose(1, 2);
}

AttentionImpl::AttentionImpl(int64_t dim, int64_t num_heads_, bool qkv_bias) : num_heads(num_heads_) {
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, dim * 3).bias(qkv_bias)));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
}

at::Tensor AttentionImpl::forward(const at::Tensor& x) {
  const int64_t batch = x.size(0);
  const int64_t tokens = x.size(1);
  const int64_t channels = x.size(2);
  // [B, N, 3D] -> [3, B, heads, N, head_dim]
  const auto qkv_heads = qkv->forward(x).reshape({batch, tokens, 3, num_heads, channels / num_heads}).permute(
      {2, 0, 3, 1, 4});
  const auto q_k_v = qkv_heads.unbind(0);
  const at::Tensor attended = at::scaled_dot_product_attention(q_k_v[0], q_k_v[1], q_k_v[2]);
  return proj->forward(attended.transpose(1, 2).reshape({batch, tokens, channels}));
}

MlpImpl::MlpImpl(int64_t in_features, int64_t hidden_features) {
  fc1 = register_module("fc1", torch::nn::Linear(in_features, hidden_features));
  fc2 = register_module("fc2", torch::nn::Linear(hidden_features, in_features));
}

at::Tensor MlpImpl::forward(const at::Tensor& x) { return fc2->forward(at::gelu(fc1->forward(x))); }

at::Tensor DropPathImpl::forward(const at::Tensor& x) {
  if (drop_prob == 0.0 || !is_training()) {
    return x;
  }
  const double keep_prob = 1.0 - drop_prob;
  std::vector<int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[0] = x.size(0);
  const at::Tensor keep = (at::rand(shape, x.options()) + keep_prob).floor_();
  return x.div(keep_prob) * keep;
}

BlockImpl::BlockImpl(int64_t dim, int64_t num_heads, double mlp_ratio, double drop_path_rate) {
  norm1 = register_module("norm1", make_layer_norm(dim));
  attn = register_module("attn", Attention(dim, num_heads, /*qkv_bias=*/true));
  drop_path = register_module("drop_path", DropPath(drop_path_rate));
  norm2 = register_module("norm2", make_layer_norm(dim));
  mlp = register_module("mlp", Mlp(dim, static_cast<int64_t>(static_cast<double>(dim) * mlp_ratio)));
}

at::Tensor BlockImpl::forward(const at::Tensor& input) {
  at::Tensor x = input + drop_path->forward(attn->forward(norm1->forward(input)));
  return x + drop_path->forward(mlp->forward(norm2->forward(x)));
}

at::Tensor run_blocks(torch::nn::ModuleList& blocks, at::Tensor x) {
  for (const auto& block : *blocks) {
    x = block->as<BlockImpl>()->forward(x);
  }
  return x;
}

torch::nn::LayerNorm make_layer_norm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-6));
}

}  // namespace mae::models
