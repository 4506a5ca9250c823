#pragma once
// The end of a preempted training job. After a stop signal ended an epoch early (train_one_epoch's stopped_after),
// rank 0 writes checkpoint-last.pth holding the model, the optimizer and scaler state and the position inside the
// epoch; every rank waits until that file is on disk (torchrun's agent ends all ranks as soon as one exits, which
// would cut rank 0's write short); then the job ends with Preempted, exit code 75. `--resume auto` continues from that
// very step, and the run ends with the weights an uninterrupted one would have.
#include "mae/engine/checkpoint.h"
#include "mae/engine/checkpoint_writer.h"
#include "mae/jobs/run_context.h"

namespace torch::nn {
class Module;
}

namespace mae::distributed {
struct DataParallel;
}

namespace mae::engine {
struct CheckpointPolicy;
}

namespace mae::jobs {

// Throws Preempted once the checkpoint is written (Error when rank 0 could not write it).
[[noreturn]] void stop_with_position_checkpoint(const engine::CheckpointPolicy& policy, const RunContext& context,
                                                const distributed::DataParallel& parallel,
                                                const engine::EpochPosition& position, const torch::nn::Module& model,
                                                const engine::Optimizer& optimizer, const engine::GradScaler& scaler,
                                                engine::CheckpointWriter& checkpoints);

}  // namespace mae::jobs
