#pragma once
// --finetune PATH: a pre-trained encoder into a classifier, as main_finetune.py / main_linprobe.py do it.
#include <string>
#include <vector>

#include "mae/models/vit.h"

namespace mae::engine {

struct PretrainedLoad {
  std::vector<std::string> unexpected_keys;  // in the checkpoint, unused by the classifier (decoder_*, mask_token, ...)
  bool head_dropped = false;                 // the checkpoint's head did not fit num_classes
  bool pos_embed_interpolated = false;       // the checkpoint was trained on another grid
};

// 1. weights = load_model_weights(path); 2. drop head.* if its shape differs from the model's; 3. interpolate the
// position embedding to the model's grid; 4. load non-strictly; 5. require that exactly head.* (plus fc_norm.* with
// global pooling) is missing; 6. head.weight ~ trunc_normal(std = head_init_std): 2e-5 to fine-tune, 0.01 to probe.
// Call before use_linear_probe_head(). A checkpoint that does not fit (another model size, encoder weights missing,
// a classifier head already present) is a UsageError that names the path and the keys, with shapes.
PretrainedLoad load_pretrained_encoder(models::VisionTransformerImpl& model, const std::string& path,
                                       double head_init_std);

}  // namespace mae::engine
