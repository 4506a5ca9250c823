#include "mae/jobs/training_step.h"

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::jobs {

TrainingStep::TrainingStep(engine::Optimizer& optimizer, engine::GradScaler& scaler,
                           const distributed::DataParallel& parallel, StepSettings settings)
    : optimizer_(optimizer), scaler_(scaler), parallel_(parallel), settings_(settings) {
  if (settings_.accum_iter < 1) {
    throw UsageError(text("invalid value for accum_iter: ", settings_.accum_iter, " (at least 1)"));
  }
}

bool TrainingStep::backward_and_update(const at::Tensor& loss, int64_t step) {
  const bool update = is_update(step);
  if (parallel_.gradients) {
    parallel_.gradients->set_sync(update);
  }
  scaler_.scale(loss / settings_.accum_iter).backward();
  if (!update) {
    return false;
  }
  if (parallel_.gradients) {
    parallel_.gradients->finish_backward();
  }
  scaler_.unscale_clip_and_step(optimizer_, settings_.clip_grad);
  optimizer_.zero_grad();
  return true;
}

}  // namespace mae::jobs
