#include "mae/engine/train_epoch.h"

#include <cmath>

#include "mae/config/job_config.h"
#include "mae/engine/metric_logger.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::engine {

EpochStats train_one_epoch(torch::nn::Module& model, data::DataLoader& loader, Optimizer& optimizer,
                           GradScaler& scaler, const LrSchedule& schedule, const config::JobConfig& config,
                           int64_t epoch, std::optional<double> clip_grad, const LossFunction& compute_loss,
                           const DataParallel& parallel, const StepScalars& scalars) {
  model.train();
  loader.start_epoch(epoch);
  const int64_t steps = loader.batches_per_epoch();
  MetricLogger logger(text("Epoch: [", epoch, "]"), steps);
  logger.add_meter("lr", SmoothedValue(1, "value6"));
  optimizer.zero_grad();
  for (int64_t step = 0; step < steps; ++step) {
    auto batch = loader.next();
    logger.batch_loaded();
    if (step % config.accum_iter == 0) {  // per-iteration schedule, set on update steps
      optimizer.set_lr(schedule.at(static_cast<double>(step) / static_cast<double>(steps) + static_cast<double>(epoch)));
    }
    const at::Tensor loss = compute_loss(*batch, step);
    const double loss_value = loss.item<double>();
    if (!std::isfinite(loss_value)) {
      throw Error(text("Loss is ", loss_value, " at epoch ", epoch, " step ", step,
                       ", stopping training (the checkpoints already written are intact)"));
    }
    const bool update_step = (step + 1) % config.accum_iter == 0;
    if (parallel.gradients) {
      parallel.gradients->set_sync(update_step);
    }
    scaler.scale(loss / config.accum_iter).backward();
    if (update_step) {
      if (parallel.gradients) {
        parallel.gradients->finish_backward();
      }
      scaler.unscale_clip_and_step(optimizer, clip_grad);
      optimizer.zero_grad();
    }
    logger.update("loss", loss_value);
    double max_lr = 0.0;
    for (const auto& group : optimizer.param_groups()) {
      max_lr = std::max(max_lr, group.lr);
    }
    logger.update("lr", max_lr);
    if (update_step && !config.log_dir.empty()) {
      std::vector<double> loss_sum{loss_value};
      parallel.sum(loss_sum, "average of the step's loss for TensorBoard");
      if (scalars.writer != nullptr) {
        const auto x = static_cast<int64_t>(
            (static_cast<double>(step) / static_cast<double>(steps) + static_cast<double>(epoch)) * 1000);
        const int world_size = parallel.active() ? parallel.communicator->world_size() : 1;
        scalars.writer->add_scalar(scalars.loss_tag, loss_sum[0] / world_size, x);
        scalars.writer->add_scalar("lr", max_lr, x);
      }
    }
    logger.iteration_done(step);
  }
  logger.finish();
  if (parallel.active()) {
    logger.synchronize([&](std::vector<double>& values) { parallel.sum(values, "reduction of the epoch's metrics"); });
  }
  log::info(text("Averaged stats: ", logger.averages()));
  if (loader.skipped_images() > 0) {
    log::warn(text(loader.skipped_images(), " unreadable images were skipped in epoch ", epoch));
  }
  return {logger.global_average("lr"), logger.global_average("loss")};
}

double log_learning_rate(const config::JobConfig& config, int world_size) {
  const long effective_batch = static_cast<long>(config.batch_size) * config.accum_iter * world_size;
  const double lr = absolute_lr(config.lr, config.blr, effective_batch);
  log::info(text("base lr: ", scientific(lr * 256 / static_cast<double>(effective_batch), 2)));
  log::info(text("actual lr: ", scientific(lr, 2)));
  log::info(text("accumulate grad iterations: ", config.accum_iter));
  log::info(text("effective batch size: ", effective_batch));
  return lr;
}

}  // namespace mae::engine
