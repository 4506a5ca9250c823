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

int64_t resume_training(const config::JobConfig& config, torch::nn::Module& model, Optimizer* optimizer,
                        GradScaler* scaler, bool weights_only) {
  std::string path = config.resume;
  if (path == "auto") {
    const auto found = config.output_dir.empty() ? std::nullopt : find_resume_checkpoint(config.output_dir);
    if (!found) {
      log::info(text("--resume auto: no checkpoint in '", config.output_dir, "', starting from scratch"));
      return config.start_epoch;
    }
    path = *found;
  }
  if (path.empty()) {
    return config.start_epoch;
  }
  const TrainingState state = load_training_checkpoint(path);
  check_same_architecture(state.args, config, path);
  try {
    models::load_state_dict(model, state.model, /*strict=*/true);
  } catch (const Error& error) {
    throw UsageError(text("--resume ", path, ": ", error.what()));
  }
  log::info(text("Resume checkpoint ", path));
  if (weights_only || !state.optimizer.isGenericDict() || state.epoch < 0) {
    return config.start_epoch;
  }
  optimizer->load_state_dict(state.optimizer);
  if (state.scaler && scaler->enabled()) {
    scaler->load(*state.scaler);
  }
  log::info("With optim & sched!");
  return state.epoch + 1;
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

}  // namespace mae::engine
