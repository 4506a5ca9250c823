#include "mae/models/flops.h"

#include "mae/models/masking.h"

namespace mae::models {
namespace {

double linear_flops(double tokens, double in, double out) { return 2.0 * tokens * in * out; }

double patch_projection_flops(const EncoderOptions& e) {
  const auto p = static_cast<double>(e.patch_size);
  return linear_flops(static_cast<double>(e.num_patches()), p * p * static_cast<double>(e.in_chans),
                      static_cast<double>(e.embed_dim));
}

}  // namespace

double block_forward_flops(double tokens, double dim, double mlp_ratio) {
  const double hidden = static_cast<double>(static_cast<int64_t>(dim * mlp_ratio));  // timm: int(dim * mlp_ratio)
  const double projections = linear_flops(tokens, dim, 3 * dim) + linear_flops(tokens, dim, dim);
  const double attention = 2.0 * 2.0 * tokens * tokens * dim;  // QK^T and AV over all heads
  const double mlp = linear_flops(tokens, dim, hidden) + linear_flops(tokens, hidden, dim);
  return projections + attention + mlp;
}

double mae_forward_flops(const MaeOptions& o, double mask_ratio) {
  const EncoderOptions& e = o.encoder;
  const auto patches = static_cast<double>(e.num_patches());
  const double visible = 1.0 + static_cast<double>(visible_patch_count(e.num_patches(), mask_ratio));
  const auto width = static_cast<double>(e.embed_dim);
  const auto decoder_width = static_cast<double>(o.decoder_embed_dim);
  const auto p = static_cast<double>(e.patch_size);
  double flops = patch_projection_flops(e);
  flops += static_cast<double>(e.depth) * block_forward_flops(visible, width, e.mlp_ratio);
  flops += linear_flops(visible, width, decoder_width);
  flops += static_cast<double>(o.decoder_depth) * block_forward_flops(patches + 1, decoder_width, e.mlp_ratio);
  flops += linear_flops(patches + 1, decoder_width, p * p * static_cast<double>(e.in_chans));
  return flops;
}

double vit_forward_flops(const VitOptions& o) {
  const EncoderOptions& e = o.encoder;
  const auto tokens = static_cast<double>(e.num_patches() + 1);
  const auto width = static_cast<double>(e.embed_dim);
  return patch_projection_flops(e) + static_cast<double>(e.depth) * block_forward_flops(tokens, width, e.mlp_ratio) +
         linear_flops(1, width, static_cast<double>(o.num_classes));
}

}  // namespace mae::models
