#pragma once
// One vector per whole image (no masking) from a ViT encoder, for feature extraction and kNN evaluation: the ways the
// token sequence of VisionTransformer::forward_tokens is pooled.
#include <ATen/core/Tensor.h>

#include <string>

#include "mae/models/vit.h"

namespace mae::models {

enum class FeaturePool {
  cls,   // the class token after the final norm: norm(x)[:, 0]
  mean,  // the mean of the patch tokens (see pooled_features)
};

// "cls" or "mean"; anything else is a UsageError.
FeaturePool parse_feature_pool(const std::string& name);
const char* to_string(FeaturePool pool);

// [N, D] features of `imgs` [N, C, H, W].
// - cls: norm(x)[:, 0], which is forward_features of a model without global pooling, and the class token of the
//   MAE's latent (models_mae.py forward_encoder) with nothing masked.
// - mean: for a model with the final norm (a pre-trained MAE's encoder, a class-token classifier), the mean of the
//   patch tokens after that norm, norm(x)[:, 1:].mean(1), with no fc_norm; for a classifier fine-tuned with global
//   pooling (fc_norm and no final norm), fc_norm(x[:, 1:].mean(1)), its forward_features.
// A globally pooled classifier has no norm for its class token: cls on it is a UsageError.
at::Tensor pooled_features(VisionTransformerImpl& model, const at::Tensor& imgs, FeaturePool pool);

}  // namespace mae::models
