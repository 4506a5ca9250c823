#pragma once
// The encoder whose features mae_extract writes and the kNN monitor measures: a VisionTransformer holding a
// checkpoint's encoder weights (or the pre-training model's current ones), whatever the checkpoint's kind.
#include <string>

#include "mae/models/mae.h"
#include "mae/models/vit.h"

namespace mae::config {
class ClassifierConfig;
}

namespace mae::jobs {

// The encoder of `path`: our pre-training, fine-tuning or probing checkpoints, the official released files (a bare
// {'model': ...} whose shape is read from the weights), a state dict or a .safetensors file. The architecture is
// resolved as for fine-tuning (resolve_vit_architecture with `frame`'s --model and --input_size, which need only be
// given to be checked or for a file that records nothing); global pooling is taken from the weights (fc_norm: a
// classifier fine-tuned with it), the position embedding is interpolated to another --input_size, and head.*,
// decoder_* and mask_token are left out. A file that is not an MAE or ViT checkpoint, or lacks encoder weights, is a
// UsageError naming the path and the keys. The model is in eval mode.
models::VisionTransformer load_feature_encoder(const std::string& path, config::ClassifierConfig& frame);

// A class-token encoder of `mae`'s encoder shape, for copy_encoder_weights.
models::VisionTransformer feature_encoder_of(const models::MaeOptions& mae);

// Copies the encoder weights (patch_embed, cls_token, pos_embed, blocks, norm) of the pre-training model into
// `encoder`, which has the same encoder shape.
void copy_encoder_weights(models::MaskedAutoencoderViTImpl& mae, models::VisionTransformerImpl& encoder);

}  // namespace mae::jobs
