#include "mae/models/architecture.h"

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::models {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) {
    throw UsageError(message);
  }
}

// The 2-D sin-cos table gives each axis half the channels, as [sin, cos] pairs.
void require_sincos_width(int64_t dim, const char* name) {
  require(dim % 4 == 0, text(name, " = ", dim, " must be divisible by 4 for the 2-D sin-cos position embedding"));
}

}  // namespace

void validate(const EncoderOptions& o) {
  require(o.patch_size > 0 && o.img_size > 0 && o.in_chans > 0 && o.depth > 0 && o.num_heads > 0 && o.embed_dim > 0,
          "image size, patch size, channels, depth, heads and width must all be positive");
  require(o.img_size % o.patch_size == 0,
          text("input size ", o.img_size, " is not divisible by patch size ", o.patch_size));
  require(o.embed_dim % o.num_heads == 0,
          text("embed_dim = ", o.embed_dim, " is not divisible by num_heads = ", o.num_heads));
  require(o.mlp_ratio > 0, text("mlp_ratio = ", o.mlp_ratio, " must be positive"));
  // A bound well above any ViT recipe (a 1024-pixel image in 4-pixel patches is 65,536 tokens) that stops a typo
  // such as --input_size 100000 before it asks for the memory of a 39-million-token position embedding.
  constexpr int64_t kMaxPatches = int64_t{1} << 16;
  require(o.num_patches() <= kMaxPatches,
          text("input size ", o.img_size, " with patch size ", o.patch_size, " gives ", o.num_patches(),
               " patches, more than ", kMaxPatches, " (a ", o.grid_size(), " x ", o.grid_size(), " grid): check ",
               "--input_size and --patch_size"));
}

void validate(const MaeOptions& o) {
  validate(o.encoder);
  require_sincos_width(o.encoder.embed_dim, "embed_dim");
  require_sincos_width(o.decoder_embed_dim, "decoder_embed_dim");
  require(o.decoder_depth > 0 && o.decoder_num_heads > 0, "decoder depth and heads must be positive");
  require(o.decoder_embed_dim % o.decoder_num_heads == 0,
          text("decoder_embed_dim = ", o.decoder_embed_dim, " is not divisible by decoder_num_heads = ",
              o.decoder_num_heads));
  require(o.mask_strategy != MaskStrategy::grid || o.encoder.grid_size() % 2 == 0,
          text("--mask_strategy grid needs an even number of patches per side; input size ", o.encoder.img_size,
               " with patch size ", o.encoder.patch_size, " gives ", o.encoder.grid_size()));
}

void validate(const VitOptions& o) {
  validate(o.encoder);
  require(o.num_classes > 0, text("nb_classes = ", o.num_classes, " must be positive"));
  require(o.drop_path_rate >= 0 && o.drop_path_rate < 1, text("drop_path = ", o.drop_path_rate, " must be in [0, 1)"));
}

std::string describe(const EncoderOptions& o) {
  return text("patch_size ", o.patch_size, ", in_chans ", o.in_chans, ", embed_dim ", o.embed_dim, ", depth ", o.depth,
              ", num_heads ", o.num_heads, ", mlp_ratio ", o.mlp_ratio);
}

std::string describe(const MaeOptions& o) {
  return text(describe(o.encoder), "; decoder_embed_dim ", o.decoder_embed_dim, ", decoder_depth ", o.decoder_depth,
              ", decoder_num_heads ", o.decoder_num_heads, "; mask_strategy ", to_string(o.mask_strategy),
              o.norm_pix_loss ? ", norm_pix_loss" : "", o.loss_on_visible ? ", loss_on_visible" : "");
}

}  // namespace mae::models
