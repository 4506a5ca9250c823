#include "mae/engine/training_state.h"

#include <filesystem>

#include "mae/engine/checkpoint.h"
#include "mae/models/state_dict.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::engine {

namespace {

// A preempted checkpoint continues only in a run whose batches come in the same order, and at an update boundary.
void check_same_run_shape(const EpochPosition& position, const ResumeRequest& request, const RunShape& shape,
                          const std::string& path) {
  const bool same = position.seed == request.seed && position.world_size == shape.world_size &&
                    position.steps_per_epoch == shape.steps_per_epoch && position.step % request.accum_iter == 0;
  if (!same) {
    throw UsageError(text("--resume ", path, " stopped at step ", position.step, " of epoch ", position.epoch,
                          " of a run with seed ", position.seed, ", world size ", position.world_size, " and ",
                          position.steps_per_epoch, " batches per epoch; this run has seed ", request.seed,
                          ", world size ", shape.world_size, ", ", shape.steps_per_epoch, " batches per epoch and ",
                          "--accum_iter ", request.accum_iter, ", so its batches would differ: resume with the same ",
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

TrainingStart resume_training(const ResumeRequest& request, torch::nn::Module& model, Optimizer* optimizer,
                              GradScaler* scaler, const RunShape& shape, bool weights_only) {
  const TrainingStart from_scratch{request.start_epoch, 0};
  std::string path = request.resume;
  if (path == "auto") {
    const auto found = request.output_dir.empty() ? std::nullopt : find_resume_checkpoint(request.output_dir);
    if (!found) {
      log::info(text("--resume auto: no checkpoint in '", request.output_dir, "', starting from scratch"));
      return from_scratch;
    }
    log::info(text("--resume auto: considered ", found->considered, "; resuming the furthest along"));
    path = found->path;
  }
  if (path.empty()) {
    return from_scratch;
  }
  const TrainingState state = load_training_checkpoint(path);
  if (request.check_architecture) {
    request.check_architecture(state.args, path);
  }
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
    check_same_run_shape(*state.position, request, shape, path);
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

bool writes_epoch_checkpoint(const CheckpointPolicy& policy, int64_t epoch) {
  return !policy.output_dir.empty() &&
         !checkpoints_due(epoch, policy.epochs, policy.save_every, policy.save_last).empty();
}

void save_epoch_checkpoints(const CheckpointPolicy& policy, int64_t epoch, const torch::nn::Module& model,
                            const Optimizer& optimizer, const GradScaler& scaler, CheckpointWriter& writer) {
  if (!writes_epoch_checkpoint(policy, epoch)) {
    return;
  }
  const auto names = checkpoints_due(epoch, policy.epochs, policy.save_every, policy.save_last);
  std::vector<std::string> paths;
  for (const auto& name : names) {
    paths.push_back((std::filesystem::path(policy.output_dir) / name).string());
  }
  // Serialised and written once; the other names due (checkpoint-last.pth) are links to (or copies of) that file.
  // The previous write finishes before this snapshot is taken, so that rank 0 never holds two copies of the state.
  writer.wait();
  writer.submit(std::move(paths), snapshot_training_state(model, optimizer, scaler, epoch, policy.args));
}

void submit_position_checkpoint(const CheckpointPolicy& policy, const EpochPosition& position,
                                const torch::nn::Module& model, const Optimizer& optimizer, const GradScaler& scaler,
                                CheckpointWriter& writer) {
  if (policy.output_dir.empty()) {
    return;
  }
  writer.wait();
  TrainingState state = snapshot_training_state(model, optimizer, scaler, position.epoch - 1, policy.args);
  state.position = position;
  const std::string path = (std::filesystem::path(policy.output_dir) / kLastCheckpointName).string();
  writer.submit({path}, std::move(state));
}

void save_position_checkpoint(const CheckpointPolicy& policy, const EpochPosition& position,
                              const torch::nn::Module& model, const Optimizer& optimizer, const GradScaler& scaler,
                              CheckpointWriter& writer) {
  submit_position_checkpoint(policy, position, model, optimizer, scaler, writer);
  writer.wait();
}

}  // namespace mae::engine
