#pragma once
// --save_interval_minutes M: a checkpoint of the position inside the epoch (the kind a stop signal writes) at the
// first update boundary after every M minutes, so that a crash that sends no signal (a lost node, a worker killed by
// the OOM killer or kill -9) costs at most M minutes of training, not the epoch. Any rank whose clock says a save is
// due makes it due for all: train_one_epoch agrees on it in the all-reduce that already carries the stop signal, so
// a step pays no extra collective. The interval restarts after every save, the epochs' checkpoints included.
#include <chrono>
#include <cstdint>
#include <functional>

#include "mae/engine/checkpoint.h"

namespace torch::nn {
class Module;
}

namespace mae::config {
class JobConfig;
}

namespace mae::data {
class BatchStream;
}

namespace mae::engine {
class Optimizer;
class GradScaler;
class CheckpointWriter;
struct CheckpointPolicy;
}  // namespace mae::engine

namespace mae::jobs {

class IntervalSaves {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // Writes the checkpoint of the state after `next_step` batches of `epoch` (on rank 0; every rank calls it).
  using Write = std::function<void(int64_t epoch, int64_t next_step)>;

  IntervalSaves() = default;  // off
  // Off when `minutes` is 0. The first interval starts now.
  IntervalSaves(double minutes, Write write, Clock clock = std::chrono::steady_clock::now);

  bool enabled() const { return static_cast<bool>(write_); }
  // Whether this rank's clock says the interval has passed.
  bool due() const;
  // Writes the position checkpoint and starts the next interval.
  void save(int64_t epoch, int64_t next_step);
  // An epoch's checkpoint was written: the next interval starts now. Nothing when off.
  void restart();

 private:
  std::chrono::steady_clock::duration interval_{};
  Write write_;
  Clock clock_ = std::chrono::steady_clock::now;
  std::chrono::steady_clock::time_point last_save_{};
};

struct RunContext;

// The job's interval saves from --save_interval_minutes: rank 0 hands a position checkpoint of the run (its seed,
// world size, batches per epoch and loader workers) to the background writer under `policy`, and logs it.
IntervalSaves position_saves(const config::JobConfig& config, const engine::CheckpointPolicy& policy,
                             const RunContext& context, const data::BatchStream& loader,
                             const torch::nn::Module& model, const engine::Optimizer& optimizer,
                             const engine::GradScaler& scaler, engine::CheckpointWriter& checkpoints);

// Where a run stands after `step` batches of `epoch`, with the shape a resume must match.
engine::EpochPosition epoch_position(const config::JobConfig& config, const RunContext& context,
                                     const data::BatchStream& loader, int64_t epoch, int64_t step);

}  // namespace mae::jobs
