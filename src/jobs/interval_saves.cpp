#include "mae/jobs/interval_saves.h"

#include "mae/config/job_config.h"
#include "mae/data/batch_stream.h"
#include "mae/engine/training_state.h"
#include "mae/jobs/run_context.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::jobs {

IntervalSaves::IntervalSaves(double minutes, Write write, Clock clock)
    : interval_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double, std::ratio<60>>(minutes))),
      write_(minutes > 0 ? std::move(write) : Write()),
      clock_(std::move(clock)),
      last_save_(clock_()) {}

bool IntervalSaves::due() const { return enabled() && clock_() - last_save_ >= interval_; }

void IntervalSaves::save(int64_t epoch, int64_t next_step) {
  write_(epoch, next_step);
  restart();
}

void IntervalSaves::restart() {
  if (enabled()) {
    last_save_ = clock_();
  }
}

engine::EpochPosition epoch_position(const config::JobConfig& config, const RunContext& context,
                                     const data::BatchStream& loader, int64_t epoch, int64_t step) {
  return {epoch, step, loader.batches_per_epoch(), context.world_size(), config.seed, loader.order_workers()};
}

IntervalSaves position_saves(const config::JobConfig& config, const engine::CheckpointPolicy& policy,
                             const RunContext& context, const data::BatchStream& loader,
                             const torch::nn::Module& model, const engine::Optimizer& optimizer,
                             const engine::GradScaler& scaler, engine::CheckpointWriter& checkpoints) {
  if (config.save_interval_minutes > 0 && config.output_dir.empty()) {
    log::warn("--save_interval_minutes without --output_dir: there is nowhere to save, so nothing is saved");
    return {};
  }
  return IntervalSaves(config.save_interval_minutes, [&config, &policy, &context, &loader, &model, &optimizer,
                                                      &scaler, &checkpoints](int64_t epoch, int64_t next_step) {
    if (!context.main_process()) {
      return;
    }
    engine::submit_position_checkpoint(policy, epoch_position(config, context, loader, epoch, next_step), model,
                                       optimizer, scaler, checkpoints);
    log::info(text("--save_interval_minutes ", config.save_interval_minutes, ": saving epoch ", epoch, " after step ",
                   next_step - 1, " of ", loader.batches_per_epoch(), " to ", engine::kLastCheckpointName,
                   " (in the background)"));
  });
}

}  // namespace mae::jobs
