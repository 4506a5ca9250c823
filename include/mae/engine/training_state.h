#pragma once
// util/misc.py load_model / save_model for the training jobs: resume from a checkpoint and write the checkpoints due
// after an epoch.
#include <torch/nn/module.h>

#include <functional>
#include <string>

#include "mae/engine/checkpoint_writer.h"
#include "mae/engine/grad_scaler.h"
#include "mae/engine/optimizer.h"

namespace mae::engine {

// Where training starts: an epoch, and the first step inside it (not 0 only after a preempted run).
struct TrainingStart {
  int64_t epoch = 0;
  int64_t step = 0;
};

// What decides the order of a run's batches besides the seed: a preempted checkpoint resumes only in a run of the
// same shape.
struct RunShape {
  int64_t steps_per_epoch = 0;
  int world_size = 1;
  int loader_workers = 0;  // data::BatchStream::order_workers()
};

// What --resume asks for, and what a checkpoint of a position inside an epoch must agree with.
struct ResumeRequest {
  std::string resume;       // a checkpoint's path, "auto" (the newest in output_dir, if any), or "": none
  std::string output_dir;   // where "auto" looks
  int64_t start_epoch = 0;  // where a run that resumes nothing starts (--start_epoch)
  int64_t seed = 0;
  int64_t accum_iter = 1;
  // Throws a UsageError naming each difference when the checkpoint's recorded architecture (its `args`) is not the
  // run's; unset: no check.
  std::function<void(const c10::IValue& checkpoint_args, const std::string& path)> check_architecture;
};

// Where and when a job's checkpoints are written, and the settings they record.
struct CheckpointPolicy {
  std::string output_dir;  // "": no checkpoints
  int64_t epochs = 0;
  int64_t save_every = 0;  // checkpoints_due's cadence
  bool save_last = true;
  c10::IValue args;        // the run's resolved settings (the checkpoints' `args`)
};

// --resume PATH, or --resume auto (the newest checkpoint in output_dir, if any): loads the model (strictly), and,
// unless `weights_only`, the optimizer and scaler state. Returns where to start: request.start_epoch when nothing is
// resumed, the epoch after the checkpoint's, or the very step a preempted run stopped at (which needs the same seed,
// `shape` and an --accum_iter that divides the step: a UsageError names what differs).
TrainingStart resume_training(const ResumeRequest& request, torch::nn::Module& model, Optimizer* optimizer,
                              GradScaler* scaler, const RunShape& shape, bool weights_only = false);

// Whether the job writes a checkpoint after `epoch`: an output_dir, and a file checkpoints_due names.
bool writes_epoch_checkpoint(const CheckpointPolicy& policy, int64_t epoch);

// Hands the checkpoints due after `epoch` (checkpoints_due) in output_dir to `writer`: the state is copied now, the
// files are written in the background. Nothing when output_dir is empty or nothing is due.
void save_epoch_checkpoints(const CheckpointPolicy& policy, int64_t epoch, const torch::nn::Module& model,
                            const Optimizer& optimizer, const GradScaler& scaler, CheckpointWriter& writer);

// A checkpoint of the state after `position` inside an epoch, to output_dir/checkpoint-last.pth (whatever
// --save_last says, as --resume auto reads that file first): the state is copied now, after the write in flight, and
// written in the background (--save_interval_minutes). Nothing when there is no output_dir.
void submit_position_checkpoint(const CheckpointPolicy& policy, const EpochPosition& position,
                                const torch::nn::Module& model, const Optimizer& optimizer, const GradScaler& scaler,
                                CheckpointWriter& writer);

// A preempted run's checkpoint: submit_position_checkpoint, and on disk when this returns.
void save_position_checkpoint(const CheckpointPolicy& policy, const EpochPosition& position,
                              const torch::nn::Module& model, const Optimizer& optimizer, const GradScaler& scaler,
                              CheckpointWriter& writer);

}  // namespace mae::engine
