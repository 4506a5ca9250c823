#include "mae/engine/training_state.h"

#include <filesystem>

#include "mae/config/job_config.h"
#include "mae/engine/architecture_settings.h"
#include "mae/engine/checkpoint.h"
#include "mae/models/state_dict.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::engine {

namespace {

// A preempted checkpoint continues only in a run whose batches come in the same order, and at an update boundary.
void check_same_run_shape(const EpochPosition& position, const config::JobConfig& config, const RunShape& shape,
                          const std::string& path) {
  const bool same = position.seed == config.seed && position.world_size == shape.world_size &&
                    position.steps_per_epoch == shape.steps_per_epoch && position.step % config.accum_iter == 0;
  if (!same) {
    throw UsageError(text("--resume ", path, " stopped at step ", position.step, " of epoch ", position.epoch,
                          " of a run with seed ", position.seed, ", world size ", position.world_size, " and ",
                          position.steps_per_epoch, " batches per epoch; this run has seed ", config.seed,
                          ", world size ", shape.world_size, ", ", shape.steps_per_epoch, " batches per epoch and ",
                          "--accum_iter ", config.accum_iter, ", so its batches would differ: resume with the same ",
                          "settings, or from a checkpoint-<epoch>.pth written at the end of an epoch"));
  }
  if (position.loader_workers > 0 && position.loader_workers != shape.loader_workers) {
    throw UsageError(text("--resume ", path, " stopped at step ", position.step, " of epoch ", position.epoch,
                          " of a run that read its shards with ", position.loader_workers, " loader workers; this ",
                          "run has ", shape.loader_workers, ", which deals the shards to other readers, so its ",
                          "batches would differ: resume with --num_workers ", position.loader_workers, ", or from a ",
                          "checkpoint-<epoch>.pth written at the end of an epoch"));
  }
}

}  // namespace

TrainingStart resume_training(const config::JobConfig& config, torch::nn::Module& model, Optimizer* optimizer,
                              GradScaler* scaler, const RunShape& shape, bool weights_only) {
  const TrainingStart from_scratch{config.start_epoch, 0};
  std::string path = config.resume;
  if (path == "auto") {
    const auto found = config.output_dir.empty() ? std::nullopt : find_resume_checkpoint(config.output_dir);
    if (!found) {
      log::info(text("--resume auto: no checkpoint in '", config.output_dir, "', starting from scratch"));
      return from_scratch;
    }
    log::info(text("--resume auto: considered ", found->considered, "; resuming the furthest along"));
    path = found->path;
  }
  if (path.empty()) {
    return from_scratch;
  }
  const TrainingState state = load_training_checkpoint(path);
  check_same_architecture(state.args, config, path);
  try {
    models::load_state_dict(model, state.model, /*strict=*/true);
  } catch (const Error& error) {
    throw UsageError(text("--resume ", path, ": ", error.what()));
  }
  log::info(text("Resume checkpoint ", path));
  if (weights_only || !state.optimizer.isGenericDict() || (state.epoch < 0 && !state.position)) {
    return from_scratch;
  }
  if (state.position) {
    check_same_run_shape(*state.position, config, shape, path);
  }
  optimizer->load_state_dict(state.optimizer);
  if (state.scaler && scaler->enabled()) {
    scaler->load(*state.scaler);
  }
  log::info("With optim & sched!");
  if (state.position) {
    log::info(text("Continuing epoch ", state.position->epoch, " at step ", state.position->step, " of ",
                   state.position->steps_per_epoch, ", the position its checkpoint holds (written on a stop signal or by --save_interval_minutes)"));
    return {state.position->epoch, state.position->step};
  }
  return {state.epoch + 1, 0};
}

void save_epoch_checkpoints(const config::JobConfig& config, int64_t epoch, const torch::nn::Module& model,
                            const Optimizer& optimizer, const GradScaler& scaler, CheckpointWriter& writer) {
  if (config.output_dir.empty()) {
    return;
  }
  const auto names = checkpoints_due(epoch, config.epochs, config.save_every, config.save_last);
  if (names.empty()) {
    return;
  }
  std::vector<std::string> paths;
  for (const auto& name : names) {
    paths.push_back((std::filesystem::path(config.output_dir) / name).string());
  }
  // Serialised and written once; the other names due (checkpoint-last.pth) are links to (or copies of) that file.
  // The previous write finishes before this snapshot is taken, so that rank 0 never holds two copies of the state.
  writer.wait();
  writer.submit(std::move(paths), snapshot_training_state(model, optimizer, scaler, epoch, config_as_dict(config)));
}

void submit_position_checkpoint(const config::JobConfig& config, const EpochPosition& position,
                                const torch::nn::Module& model, const Optimizer& optimizer, const GradScaler& scaler,
                                CheckpointWriter& writer) {
  if (config.output_dir.empty()) {
    return;
  }
  writer.wait();
  TrainingState state = snapshot_training_state(model, optimizer, scaler, position.epoch - 1, config_as_dict(config));
  state.position = position;
  const std::string path = (std::filesystem::path(config.output_dir) / kLastCheckpointName).string();
  writer.submit({path}, std::move(state));
}

void save_position_checkpoint(const config::JobConfig& config, const EpochPosition& position,
                              const torch::nn::Module& model, const Optimizer& optimizer, const GradScaler& scaler,
                              CheckpointWriter& writer) {
  submit_position_checkpoint(config, position, model, optimizer, scaler, writer);
  writer.wait();
}

}  // namespace mae::engine
