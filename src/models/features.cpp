#include "mae/models/features.h"

#include <ATen/ATen.h>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::models {

FeaturePool parse_feature_pool(const std::string& name) {
  if (name == "cls") {
    return FeaturePool::cls;
  }
  if (name == "mean") {
    return FeaturePool::mean;
  }
  throw UsageError(text("unknown feature pooling '", name, "': expected cls or mean"));
}

const char* to_string(FeaturePool pool) { return pool == FeaturePool::cls ? "cls" : "mean"; }

at::Tensor pooled_features(VisionTransformerImpl& model, const at::Tensor& imgs, FeaturePool pool) {
  if (model.options().global_pool) {
    if (pool == FeaturePool::cls) {
      throw UsageError("the checkpoint holds a classifier fine-tuned with global pooling: it has fc_norm for the mean "
                       "of the patch tokens and no final norm for the class token; use --pool mean");
    }
    return model.forward_features(imgs);
  }
  const at::Tensor tokens = model.norm->forward(model.forward_tokens(imgs));
  return pool == FeaturePool::cls ? tokens.select(1, 0) : tokens.slice(1, 1).mean(1);
}

}  // namespace mae::models
