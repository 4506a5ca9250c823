#pragma once
// Each job's optimizer and classifier head as main_pretrain.py, main_finetune.py and main_linprobe.py set them up,
// shared by the jobs and by mae_bench step, so that a change to a job's set-up changes its benchmark too.
#include <memory>

#include "mae/engine/optimizer.h"

namespace mae::models {
class MaskedAutoencoderViTImpl;
class VisionTransformerImpl;
}  // namespace mae::models

namespace mae::jobs {

// main_finetune.py: trunc_normal_(model.head.weight, std=2e-5) on a head --finetune does not fill;
// main_linprobe.py: std=0.01.
inline constexpr double kFinetuneHeadInitStd = 2e-5;
inline constexpr double kLinprobeHeadInitStd = 0.01;

// main_pretrain.py: AdamW with betas (0.9, 0.95) over add_weight_decay's two groups (no decay on biases and norms).
std::unique_ptr<engine::Optimizer> pretrain_optimizer(models::MaskedAutoencoderViTImpl& model, double weight_decay,
                                                      double lr);

// main_finetune.py: AdamW with torch's default betas over lr_decay.param_groups_lrd's layer-decayed groups.
std::unique_ptr<engine::Optimizer> finetune_optimizer(models::VisionTransformerImpl& model, double weight_decay,
                                                      double layer_decay, double lr);

// main_linprobe.py: the head becomes BatchNorm1d(affine=False) + Linear, and everything but it is frozen.
void prepare_linear_probe(models::VisionTransformerImpl& model);

// main_linprobe.py: LARS over the probe head's parameters.
std::unique_ptr<engine::Optimizer> linprobe_optimizer(models::VisionTransformerImpl& model, double weight_decay,
                                                      double lr);

}  // namespace mae::jobs
