#pragma once
// The numbers that define a model. Defaults are models_mae.py's MaskedAutoencoderViT and timm's VisionTransformer
// defaults; the official names (factory.h) fill them in.
#include <cstdint>
#include <string>

#include "mae/models/masking.h"

namespace mae::models {

struct EncoderOptions {
  int64_t img_size = 224;  // square images, img_size x img_size
  int64_t patch_size = 16;
  int64_t in_chans = 3;
  int64_t embed_dim = 1024;
  int64_t depth = 24;
  int64_t num_heads = 16;
  double mlp_ratio = 4.0;

  int64_t grid_size() const { return img_size / patch_size; }
  int64_t num_patches() const { return grid_size() * grid_size(); }
};

struct MaeOptions {
  EncoderOptions encoder;
  int64_t decoder_embed_dim = 512;
  int64_t decoder_depth = 8;
  int64_t decoder_num_heads = 16;
  bool norm_pix_loss = false;
  // The ablations the reference does not offer (defaults: its behaviour).
  MaskStrategy mask_strategy = MaskStrategy::random;
  bool loss_on_visible = false;  // the loss over every patch instead of the removed ones only
};

struct VitOptions {
  EncoderOptions encoder;
  int64_t num_classes = 1000;
  double drop_path_rate = 0.1;
  bool global_pool = true;  // mean of patch tokens -> fc_norm; false: class token -> norm
};

// Throws UsageError naming the option when the numbers cannot make a model (image not divisible into patches,
// width not divisible by heads or unusable for the 2-D sin-cos table, ...).
void validate(const EncoderOptions& options);
void validate(const MaeOptions& options);
void validate(const VitOptions& options);

// "patch_size 16, in_chans 3, embed_dim 768, depth 12, num_heads 12, mlp_ratio 4" for logs and error messages; the
// MAE's adds its decoder, mask strategy and loss.
std::string describe(const EncoderOptions& options);
std::string describe(const MaeOptions& options);

}  // namespace mae::models
