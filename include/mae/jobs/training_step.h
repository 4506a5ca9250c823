#pragma once
// The one training step of engine_pretrain.train_one_epoch and engine_finetune.train_one_epoch after the forward
// pass: the loss scaled down by accum_iter and by the GradScaler, backward (with the gradient all-reduce on update
// steps only, as DDP's no_sync), then on update steps unscale / clip / optimizer step / zero_grad. train_one_epoch
// and `mae_bench step` both drive this class, so the benchmark times the step that trains. Needs no data layer.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

#include "mae/distributed/gradient_sync.h"
#include "mae/engine/grad_scaler.h"
#include "mae/engine/optimizer.h"

namespace mae::jobs {

struct StepSettings {
  int accum_iter = 1;               // micro-steps per optimizer update (--accum_iter)
  std::optional<double> clip_grad;  // max gradient norm (--clip_grad); none: no clipping
};

class TrainingStep {
 public:
  // `parallel` averages the gradients in a multi-process job; all references must outlive the step.
  TrainingStep(engine::Optimizer& optimizer, engine::GradScaler& scaler, const distributed::DataParallel& parallel,
               StepSettings settings);

  // Whether micro-step `step` of an epoch starts an accumulation window (where the per-iteration lr is set) ...
  bool starts_update(int64_t step) const { return step % settings_.accum_iter == 0; }
  // ... and whether it ends one (where the optimizer steps).
  bool is_update(int64_t step) const { return (step + 1) % settings_.accum_iter == 0; }

  // Backward of `loss` (the batch's loss, as the forward pass returned it) for micro-step `step`, and the update
  // when `step` ends an accumulation window. Returns whether the optimizer stepped.
  bool backward_and_update(const at::Tensor& loss, int64_t step);

  engine::Optimizer& optimizer() { return optimizer_; }
  const distributed::DataParallel& parallel() const { return parallel_; }

 private:
  engine::Optimizer& optimizer_;
  engine::GradScaler& scaler_;
  const distributed::DataParallel& parallel_;
  StepSettings settings_;
};

}  // namespace mae::jobs
