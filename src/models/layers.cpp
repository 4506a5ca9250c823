#include "mae/models/layers.h"

#include <ATen/ATen.h>

#include <cmath>

#include "mae/models/grad_checkpoint.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::models {

PatchEmbedImpl::PatchEmbedImpl(int64_t img_size_, int64_t patch_size_, int64_t in_chans, int64_t embed_dim)
    : img_size(img_size_), patch_size(patch_size_) {
  proj = register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_chans, embed_dim, patch_size).stride(patch_size)));
}

void PatchEmbedImpl::check_input(const at::Tensor& images) const {
  const int64_t channels = proj->options.in_channels();
  if (images.dim() != 4 || images.size(1) != channels || images.size(2) != img_size || images.size(3) != img_size) {
    throw Error(text("input of shape ", images.sizes(), " does not match the model: expected [N, ", channels, ", ",
                     img_size, ", ", img_size, "] (--input_size)"));
  }
}

at::Tensor PatchEmbedImpl::forward(const at::Tensor& images) {
  check_input(images);
  return proj->forward(images).flatten(2).transpose(1, 2);
}

at::Tensor PatchEmbedImpl::forward_patches(const at::Tensor& images, const at::Tensor& ids) {
  check_input(images);
  const int64_t n = images.size(0);
  const int64_t c = images.size(1);
  const int64_t p = patch_size;
  const int64_t g = img_size / p;
  // [N, C, g*p, g*p] -> [N, g*g, C*p*p], each patch's pixels in the (channel, row, column) order of proj's weight.
  const at::Tensor patches =
      images.reshape({n, c, g, p, g, p}).permute({0, 2, 4, 1, 3, 5}).reshape({n, g * g, c * p * p});
  return at::linear(gather_tokens(patches, ids), proj->weight.flatten(1), proj->bias);
}

namespace {

// ATen's CPU flash-attention kernel works in blocks sized for long sequences; on short ones (the MAE encoder's 50
// tokens) the explicit softmax(q k^T / sqrt(d)) v is faster forward and backward (docs/BENCHMARKS.md), and its
// attention maps, kept for backward, are small. Long sequences, GPUs and reduced precision (whose fused kernels
// accumulate in fp32) keep the fused kernels.
constexpr int64_t kMaxTokensForExplicitAttention = 64;

at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  if (!q.is_cpu() || q.scalar_type() != at::kFloat || k.size(-2) > kMaxTokensForExplicitAttention) {
    return at::scaled_dot_product_attention(q, k, v);
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  return at::matmul(at::matmul(q * scale, k.transpose(-2, -1)).softmax(-1), v);
}

}  // namespace

AttentionImpl::AttentionImpl(int64_t dim, int64_t num_heads_, bool qkv_bias) : num_heads(num_heads_) {
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, dim * 3).bias(qkv_bias)));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, int64_t first_query) {
  return forward_projected(qkv->forward(x), first_query);
}

at::Tensor AttentionImpl::forward_projected(const at::Tensor& qkv_rows, int64_t first_query) {
  const int64_t batch = qkv_rows.size(0);
  const int64_t tokens = qkv_rows.size(1);
  const int64_t channels = qkv_rows.size(2) / 3;
  // [B, N, 3D] -> [3, B, heads, N, head_dim]
  const auto qkv_heads =
      qkv_rows.reshape({batch, tokens, 3, num_heads, channels / num_heads}).permute({2, 0, 3, 1, 4});
  const auto q_k_v = qkv_heads.unbind(0);
  const at::Tensor attended = attend(q_k_v[0].slice(2, first_query), q_k_v[1], q_k_v[2]);
  return proj->forward(attended.transpose(1, 2).reshape({batch, tokens - first_query, channels}));
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

at::Tensor BlockImpl::forward(const at::Tensor& input, int64_t first_row) {
  return finish(input.slice(1, first_row), attn->forward(norm1->forward(input), first_row));
}

at::Tensor BlockImpl::forward_with_shared_rows(const at::Tensor& own, const at::Tensor& shared,
                                               const at::Tensor& shared_ids, int64_t first_row) {
  const auto project = [&](const at::Tensor& rows) { return attn->qkv->forward(norm1->forward(rows)); };
  const at::Tensor qkv_rows = at::cat({project(own), gather_tokens(project(shared), shared_ids)}, 1);
  const at::Tensor input = at::cat({own, gather_tokens(shared, shared_ids)}, 1);
  return finish(input.slice(1, first_row), attn->forward_projected(qkv_rows, first_row));
}

at::Tensor BlockImpl::finish(const at::Tensor& rows, const at::Tensor& attended) {
  const at::Tensor x = rows + drop_path->forward(attended);
  return x + drop_path->forward(mlp->forward(norm2->forward(x)));
}

at::Tensor run_blocks(torch::nn::ModuleList& blocks, at::Tensor x, bool checkpoint) {
  for (const auto& block : *blocks) {
    BlockImpl* const run = block->as<BlockImpl>();
    x = maybe_checkpointed(checkpoint, [run](const std::vector<at::Tensor>& in) { return run->forward(in[0]); }, {x});
  }
  return x;
}

at::Tensor gather_tokens(const at::Tensor& x, const at::Tensor& ids) {
  return at::gather(x.expand({ids.size(0), -1, -1}), 1, ids.unsqueeze(-1).expand({-1, -1, x.size(2)}));
}

torch::nn::LayerNorm make_layer_norm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-6));
}

}  // namespace mae::models
