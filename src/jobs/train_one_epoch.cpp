#include "mae/jobs/train_one_epoch.h"

#include <cmath>

#include "mae/config/job_config.h"
#include "mae/engine/metric_logger.h"
#include "mae/jobs/interval_saves.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/stop_signals.h"
#include "mae/util/strings.h"

namespace mae::jobs {

namespace {

struct Agreed {
  bool stop = false;  // a rank has been asked to stop
  bool save = false;  // a rank's --save_interval_minutes clock says a position checkpoint is due
};

// What any rank asks for, in one all-reduce: every rank calls this at the same steps, so all stop (or save) at the
// same one (a signal reaches the ranks of a job at different moments, or only some of them; their clocks differ).
Agreed agree(const distributed::DataParallel& parallel, const IntervalSaves* saves) {
  std::vector<double> asked{StopSignals::requested() ? 1.0 : 0.0, saves != nullptr && saves->due() ? 1.0 : 0.0};
  parallel.sum(asked, "agreement on a stop signal and on an interval save");
  return {asked[0] > 0.0, asked[1] > 0.0};
}

}  // namespace

EpochStats train_one_epoch(torch::nn::Module& model, data::BatchStream& loader, TrainingStep& training_step,
                           const engine::LrSchedule& schedule, int64_t epoch, int64_t first_step,
                           const LossFunction& compute_loss, const StepScalars& scalars,
                           engine::StepProfiler* profiler, IntervalSaves* saves) {
  model.train();
  loader.start_epoch(epoch, first_step);
  const int64_t steps = loader.batches_per_epoch();
  engine::Optimizer& optimizer = training_step.optimizer();
  const distributed::DataParallel& parallel = training_step.parallel();
  const c10::Device device = model.parameters().front().device();
  engine::MetricLogger logger(text("Epoch: [", epoch, "]"), steps, 20, device);
  logger.add_meter("lr", engine::SmoothedValue(1, "value6"));
  optimizer.zero_grad();
  for (int64_t step = first_step; step < steps; ++step) {
    const int64_t run_step = epoch * steps + step;
    if (profiler != nullptr) {
      profiler->step_begins(run_step);
    }
    auto batch = loader.next();
    logger.batch_loaded();
    const double epoch_position = static_cast<double>(step) / static_cast<double>(steps) + static_cast<double>(epoch);
    if (training_step.starts_update(step)) {  // per-iteration schedule, set on update steps
      optimizer.set_lr(schedule.at(epoch_position));
    }
    parallel.broadcast_buffers();  // as DDP's forward
    const at::Tensor loss = compute_loss(*batch, step);
    const double loss_value = loss.item<double>();
    if (!std::isfinite(loss_value)) {
      throw Error(text("Loss is ", loss_value, " at epoch ", epoch, " step ", step,
                       ", stopping training (the checkpoints already written are intact)"));
    }
    const bool updated = training_step.backward_and_update(loss, step);
    logger.update("loss", loss_value);
    double max_lr = 0.0;
    for (const auto& group : optimizer.param_groups()) {
      max_lr = std::max(max_lr, group.lr);
    }
    logger.update("lr", max_lr);
    if (updated && scalars.enabled) {
      std::vector<double> loss_sum{loss_value};
      parallel.sum(loss_sum, "average of the step's loss for TensorBoard");
      if (scalars.writer != nullptr) {
        const auto x = static_cast<int64_t>(epoch_position * 1000);
        const int world_size = parallel.active() ? parallel.communicator->world_size() : 1;
        scalars.writer->add_scalar(scalars.loss_tag, loss_sum[0] / world_size, x);
        scalars.writer->add_scalar("lr", max_lr, x);
      }
    }
    logger.iteration_done(step);
    if (profiler != nullptr) {
      profiler->step_ends(run_step);
    }
    if (updated && step + 1 < steps) {
      const Agreed agreed = agree(parallel, saves);
      if (agreed.stop) {
        log::info(text("Stopping at epoch ", epoch, " after step ", step, " of ", steps, ": ",
                       *StopSignals::signal_name() != '\0' ? StopSignals::signal_name() : "another rank's stop signal"));
        return {.stopped_after = step + 1};
      }
      if (agreed.save && saves != nullptr) {  // every rank has the same saves; null only in callers without them
        saves->save(epoch, step + 1);
      }
    }
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
  const double lr = engine::absolute_lr(config.lr, config.blr, effective_batch);
  log::info(text("base lr: ", scientific(lr * 256 / static_cast<double>(effective_batch), 2)));
  log::info(text("actual lr: ", scientific(lr, 2)));
  log::info(text("accumulate grad iterations: ", config.accum_iter));
  log::info(text("effective batch size: ", effective_batch));
  return lr;
}

}  // namespace mae::jobs
