#pragma once
// The numbers that define a model. Defaults are models_mae.py's MaskedAutoencoderViT and timm's VisionTransformer
// defaults; the official names (factory.h) fill them in.
#include <cstdint>

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

}  // namespace mae::models
