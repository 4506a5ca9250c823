#include "mae/jobs/preemption.h"

#include <filesystem>

#include "mae/distributed/gradient_sync.h"
#include "mae/engine/training_state.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::jobs {

void stop_with_position_checkpoint(const engine::CheckpointPolicy& policy, const RunContext& context,
                                   const distributed::DataParallel& parallel, const engine::EpochPosition& position,
                                   const torch::nn::Module& model, const engine::Optimizer& optimizer,
                                   const engine::GradScaler& scaler, engine::CheckpointWriter& checkpoints) {
  std::string failure;
  if (context.main_process()) {
    try {
      engine::save_position_checkpoint(policy, position, model, optimizer, scaler, checkpoints);
    } catch (const std::exception& error) {
      failure = error.what();
    }
  }
  // Every rank learns whether rank 0's checkpoint is on disk, and none ends before it is.
  std::vector<double> failed{failure.empty() ? 0.0 : 1.0};
  parallel.sum(failed, "rank 0's checkpoint of the stopped position");
  const std::string where = text("epoch ", position.epoch, " after step ", position.step - 1, " of ",
                                 position.steps_per_epoch);
  if (failed[0] > 0.0) {
    throw Error(text("stopped at ", where, " on a stop signal, but the checkpoint of that position could not be ",
                     "written", failure.empty() ? "" : ": " + failure, " (the checkpoints written before are intact)"));
  }
  if (policy.output_dir.empty()) {
    throw Preempted(text("stopped at ", where, " on a stop signal; nothing was saved (no --output_dir)"));
  }
  throw Preempted(text("stopped at ", where, " on a stop signal; ",
                       (std::filesystem::path(policy.output_dir) / engine::kLastCheckpointName).string(),
                       " holds that position: --resume auto continues from there"));
}

}  // namespace mae::jobs
