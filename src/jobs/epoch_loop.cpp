#include "mae/jobs/epoch_loop.h"

#include <chrono>
#include <memory>
#include <optional>

#include "mae/config/job_config.h"
#include "mae/engine/lr_schedule.h"
#include "mae/engine/metric_logger.h"
#include "mae/jobs/interval_saves.h"
#include "mae/jobs/job_options.h"
#include "mae/jobs/preemption.h"
#include "mae/util/log.h"
#include "mae/util/stop_signals.h"
#include "mae/util/strings.h"

namespace mae::jobs {

void run_epochs(const EpochLoop& loop, const EpochLoss& loss, const EpochEnd& epoch_end) {
  const config::JobConfig& config = loop.config;
  const RunContext& context = loop.context;
  const engine::LrSchedule schedule{loop.lr, config.min_lr, static_cast<double>(config.warmup_epochs),
                                    static_cast<double>(config.epochs)};
  std::optional<engine::TensorBoardWriter> tensorboard;
  if (context.main_process() && !config.log_dir.empty()) {
    tensorboard.emplace(config.log_dir);
  }
  engine::CheckpointWriter checkpoints;  // rank 0's files, written while the next epoch (or an evaluation) runs
  const StopSignals stop_signals(static_cast<unsigned>(config.preemption_deadline));
  const std::unique_ptr<engine::StepProfiler> profiler = make_step_profiler(config, context, loop.job);
  const engine::CheckpointPolicy policy = checkpoint_policy(config);  // the settings' dict, made once
  IntervalSaves saves = position_saves(config, policy, context, loop.loader, loop.model, loop.optimizer, loop.scaler,
                                       checkpoints);
  log::info(text("Start training for ", config.epochs, " epochs"));
  const auto start_time = std::chrono::steady_clock::now();
  for (int64_t epoch = loop.start.epoch; epoch < config.epochs; ++epoch) {
    const EpochStats stats = train_one_epoch(
        loop.model, loop.loader, loop.training_step, schedule, epoch, epoch == loop.start.epoch ? loop.start.step : 0,
        [&](data::Batch& batch, int64_t step) { return loss(batch, epoch, step); },
        {!config.log_dir.empty(), tensorboard ? &*tensorboard : nullptr, loop.loss_tag}, profiler.get(), &saves);
    if (stats.stopped_after) {
      stop_with_position_checkpoint(policy, context, loop.training_step.parallel(),
                                    epoch_position(config, context, loop.loader, epoch, *stats.stopped_after),
                                    loop.model, loop.optimizer, loop.scaler, checkpoints);
    }
    if (context.main_process()) {
      engine::save_epoch_checkpoints(policy, epoch, loop.model, loop.optimizer, loop.scaler, checkpoints);
    }
    if (engine::writes_epoch_checkpoint(policy, epoch)) {
      saves.restart();
    }
    epoch_end(epoch, stats, tensorboard ? &*tensorboard : nullptr);
  }
  checkpoints.wait();  // the last checkpoint is on disk before the job says it is done
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  log::info(text("Training time ", engine::format_duration(seconds)));
}

}  // namespace mae::jobs
