#pragma once
// Training checkpoints written from a background thread, so that training never waits on the disk (a ViT-L
// checkpoint with its AdamW state is about 4 GB: rank 0 writing it after every epoch while the other ranks wait in
// the next all-reduce costs minutes on a slow shared filesystem, and can outlast --dist_timeout). The job takes a CPU
// snapshot of the state (copies, so that the next steps cannot change what is written) and carries on.
#include <future>
#include <string>
#include <vector>

#include "mae/engine/checkpoint.h"

namespace torch::nn {
class Module;
}

namespace mae::engine {

class Optimizer;
class GradScaler;

class CheckpointWriter {
 public:
  CheckpointWriter() = default;
  // Waits for the write in flight, so that a job that ends normally leaves every checkpoint whole on disk; an error
  // there is logged (a destructor must not throw): call wait() to have it thrown.
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // Writes `state` to paths[0] (atomically, as save_training_checkpoint), then copies that file to the other paths
  // (atomically too), on a background thread. At most one write is in flight: this first waits for the previous one
  // and throws its error, if it failed.
  void submit(std::vector<std::string> paths, TrainingState state);

  // Waits for the write in flight, if any, and throws its error.
  void wait();

 private:
  std::future<void> in_flight_;
};

// A deep CPU copy of everything a checkpoint holds, taken between two steps. Throws Error naming the first tensor
// that holds NaN or inf (the model's weights, then the optimizer's state): such a checkpoint would poison every
// resume, so none is written.
TrainingState snapshot_training_state(const torch::nn::Module& model, const Optimizer& optimizer,
                                      const GradScaler& scaler, int64_t epoch, c10::IValue args);

}  // namespace mae::engine
