#include "mae/jobs/recipes.h"

#include "mae/engine/param_groups.h"
#include "mae/models/mae.h"
#include "mae/models/vit.h"

namespace mae::jobs {

std::unique_ptr<engine::Optimizer> pretrain_optimizer(models::MaskedAutoencoderViTImpl& model, double weight_decay,
                                                      double lr) {
  return std::make_unique<engine::AdamW>(engine::weight_decay_groups(model, weight_decay), lr,
                                         std::array<double, 2>{0.9, 0.95});
}

std::unique_ptr<engine::Optimizer> finetune_optimizer(models::VisionTransformerImpl& model, double weight_decay,
                                                      double layer_decay, double lr) {
  return std::make_unique<engine::AdamW>(
      engine::layer_decay_groups(model, model.options().encoder.depth, weight_decay, layer_decay), lr);
}

void prepare_linear_probe(models::VisionTransformerImpl& model) {
  model.use_linear_probe_head();
  models::freeze_all_but_head(model);
}

std::unique_ptr<engine::Optimizer> linprobe_optimizer(models::VisionTransformerImpl& model, double weight_decay,
                                                      double lr) {
  return std::make_unique<engine::Lars>(engine::linear_probe_groups(*model.probe_head, weight_decay), lr);
}

}  // namespace mae::jobs
