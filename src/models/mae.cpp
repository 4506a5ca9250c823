#include "mae/models/mae.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/nn/init.h>

#include "mae/models/pos_embed.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::models {
namespace {

torch::nn::ModuleList make_blocks(int64_t depth, int64_t dim, int64_t heads, double mlp_ratio) {
  torch::nn::ModuleList blocks;
  for (int64_t i = 0; i < depth; ++i) {
    blocks->push_back(Block(dim, heads, mlp_ratio));
  }
  return blocks;
}

}  // namespace

MaskedAutoencoderViTImpl::MaskedAutoencoderViTImpl(const MaeOptions& options) : options_(options) {
  validate(options_);
  const EncoderOptions& e = options_.encoder;
  const int64_t tokens = e.num_patches() + 1;
  patch_embed = register_module("patch_embed", PatchEmbed(e.img_size, e.patch_size, e.in_chans, e.embed_dim));
  // Parameter registration order is the reference's (state_dict and optimizer indices follow it).
  cls_token = register_parameter("cls_token", at::zeros({1, 1, e.embed_dim}));
  pos_embed = register_parameter("pos_embed", at::zeros({1, tokens, e.embed_dim}), /*requires_grad=*/false);
  blocks = register_module("blocks", make_blocks(e.depth, e.embed_dim, e.num_heads, e.mlp_ratio));
  norm = register_module("norm", make_layer_norm(e.embed_dim));
  decoder_embed = register_module("decoder_embed", torch::nn::Linear(e.embed_dim, options_.decoder_embed_dim));
  mask_token = register_parameter("mask_token", at::zeros({1, 1, options_.decoder_embed_dim}));
  decoder_pos_embed = register_parameter("decoder_pos_embed", at::zeros({1, tokens, options_.decoder_embed_dim}),
                                         /*requires_grad=*/false);
  decoder_blocks = register_module("decoder_blocks", make_blocks(options_.decoder_depth, options_.decoder_embed_dim,
                                                                 options_.decoder_num_heads, e.mlp_ratio));
  decoder_norm = register_module("decoder_norm", make_layer_norm(options_.decoder_embed_dim));
  decoder_pred = register_module(
      "decoder_pred", torch::nn::Linear(options_.decoder_embed_dim, e.patch_size * e.patch_size * e.in_chans));
  initialize_weights();
  check_training_loss_invariants();  // not the reference's: training_loss's assumptions (mae_training_loss.cpp)
}

void MaskedAutoencoderViTImpl::initialize_weights() {
  const c10::NoGradGuard no_grad;
  const int64_t grid = options_.encoder.grid_size();
  pos_embed.copy_(get_2d_sincos_pos_embed(pos_embed.size(-1), grid, true).to(at::kFloat).unsqueeze(0));
  decoder_pos_embed.copy_(get_2d_sincos_pos_embed(decoder_pos_embed.size(-1), grid, true).to(at::kFloat).unsqueeze(0));
  // The patch projection is a Linear in disguise: xavier over its [D, C*p*p] view. Its bias keeps Conv2d's default.
  at::Tensor projection = patch_embed->proj->weight;
  torch::nn::init::xavier_uniform_(projection.view({projection.size(0), -1}));
  torch::nn::init::normal_(cls_token, 0.0, 0.02);
  torch::nn::init::normal_(mask_token, 0.0, 0.02);
  apply([](torch::nn::Module& module) {
    if (auto* linear = module.as<torch::nn::LinearImpl>()) {
      torch::nn::init::xavier_uniform_(linear->weight);
      if (linear->bias.defined()) {
        torch::nn::init::zeros_(linear->bias);
      }
    } else if (auto* layer_norm = module.as<torch::nn::LayerNormImpl>()) {
      torch::nn::init::ones_(layer_norm->weight);
      torch::nn::init::zeros_(layer_norm->bias);
    }
  });
}

at::Tensor MaskedAutoencoderViTImpl::patchify(const at::Tensor& imgs) const {
  const int64_t p = options_.encoder.patch_size;
  const int64_t c = options_.encoder.in_chans;
  const int64_t n = imgs.size(0);
  const int64_t h = imgs.size(2) / p;
  const int64_t w = imgs.size(3) / p;
  // nchpwq -> nhwpqc
  return imgs.reshape({n, c, h, p, w, p}).permute({0, 2, 4, 3, 5, 1}).reshape({n, h * w, p * p * c});
}

at::Tensor MaskedAutoencoderViTImpl::unpatchify(const at::Tensor& x) const {
  const int64_t p = options_.encoder.patch_size;
  const int64_t c = options_.encoder.in_chans;
  const int64_t g = options_.encoder.grid_size();
  const int64_t n = x.size(0);
  // nhwpqc -> nchpwq
  return x.reshape({n, g, g, p, p, c}).permute({0, 5, 1, 3, 2, 4}).reshape({n, c, g * p, g * p});
}

at::Tensor MaskedAutoencoderViTImpl::shuffled_patch_order(const at::Tensor& scores, int64_t n, int64_t length) {
  if (scores.sizes() != at::IntArrayRef{n, length}) {
    throw Error(text("masking noise has shape ", scores.sizes(), ", expected [", n, ", ", length, "]"));
  }
  return at::argsort(scores, int64_t{1});
}

Masking MaskedAutoencoderViTImpl::random_masking(const at::Tensor& x, double mask_ratio,
                                                 const at::Tensor& scores) const {
  const int64_t n = x.size(0);
  const int64_t length = x.size(1);
  const int64_t len_keep = visible_patch_count(length, mask_ratio);
  const at::Tensor ids_shuffle = shuffled_patch_order(scores, n, length);
  const at::Tensor ids_restore = at::argsort(ids_shuffle, int64_t{1});
  const at::Tensor ids_keep = ids_shuffle.slice(1, 0, len_keep);
  at::Tensor mask = at::ones({n, length}, at::TensorOptions().device(x.device()));  // float32, as the reference
  mask.slice(1, 0, len_keep).zero_();
  return {gather_tokens(x, ids_keep), at::gather(mask, 1, ids_restore), ids_restore};
}

at::Tensor MaskedAutoencoderViTImpl::noise_or_scores(const std::optional<at::Tensor>& noise, double mask_ratio,
                                                     int64_t n, const at::Device& device) const {
  return noise ? *noise : mask_scores(options_.mask_strategy, n, options_.encoder.grid_size(), mask_ratio, device);
}

at::Tensor MaskedAutoencoderViTImpl::encode_kept(const at::Tensor& kept) {
  const at::Tensor cls = (cls_token + pos_embed.slice(1, 0, 1)).expand({kept.size(0), -1, -1});
  return norm->forward(run_blocks(blocks, at::cat({cls, kept}, 1), checkpointing_blocks()));
}

EncoderOutput MaskedAutoencoderViTImpl::forward_encoder(const at::Tensor& imgs, double mask_ratio,
                                                        const std::optional<at::Tensor>& noise) {
  const at::Tensor x = patch_embed->forward(imgs) + pos_embed.slice(1, 1);
  Masking masking = random_masking(x, mask_ratio, noise_or_scores(noise, mask_ratio, x.size(0), x.device()));
  return {encode_kept(masking.kept), std::move(masking.mask), std::move(masking.ids_restore)};
}

at::Tensor MaskedAutoencoderViTImpl::forward_decoder(const at::Tensor& latent, const at::Tensor& ids_restore) {
  at::Tensor x = decoder_embed->forward(latent);
  const at::Tensor mask_tokens = mask_token.expand({x.size(0), ids_restore.size(1) + 1 - x.size(1), -1});
  const at::Tensor patches = gather_tokens(at::cat({x.slice(1, 1), mask_tokens}, 1), ids_restore);  // unshuffle
  x = at::cat({x.slice(1, 0, 1), patches}, 1) + decoder_pos_embed;
  x = decoder_norm->forward(run_blocks(decoder_blocks, x, checkpointing_blocks()));
  return decoder_pred->forward(x).slice(1, 1);  // drop the cls token
}

std::pair<at::Tensor, at::Tensor> MaskedAutoencoderViTImpl::patch_mean_and_std(const at::Tensor& patches) {
  const at::Tensor var = patches.var(-1, /*unbiased=*/true, /*keepdim=*/true);
  return {patches.mean(-1, /*keepdim=*/true), (var + 1e-6).sqrt()};
}

at::Tensor MaskedAutoencoderViTImpl::per_patch_error(const at::Tensor& patches, const at::Tensor& pred) const {
  at::Tensor target = patches;
  if (options_.norm_pix_loss) {
    const auto [mean, std] = patch_mean_and_std(target);
    target = (target - mean) / std;
  }
  return (pred - target).pow(2).mean(-1);
}

at::Tensor MaskedAutoencoderViTImpl::forward_loss(const at::Tensor& imgs, const at::Tensor& pred,
                                                  const at::Tensor& mask) const {
  const at::Tensor per_patch = per_patch_error(patchify(imgs), pred);
  if (options_.loss_on_visible) {
    return per_patch.mean();
  }
  return (per_patch * mask).sum() / mask.sum();
}

MaeOutput MaskedAutoencoderViTImpl::forward(const at::Tensor& imgs, double mask_ratio,
                                            const std::optional<at::Tensor>& noise) {
  EncoderOutput encoded = forward_encoder(imgs, mask_ratio, noise);
  at::Tensor pred = forward_decoder(encoded.latent, encoded.ids_restore);
  at::Tensor loss = forward_loss(imgs, pred, encoded.mask);
  return {std::move(loss), std::move(pred), std::move(encoded.mask)};
}

}  // namespace mae::models
