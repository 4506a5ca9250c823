#pragma once
// util/misc.py load_model / save_model for the training jobs: resume from a checkpoint and write the checkpoints due
// after an epoch.
#include <torch/nn/module.h>

#include <string>

#include "mae/engine/checkpoint_writer.h"
#include "mae/engine/grad_scaler.h"
#include "mae/engine/optimizer.h"

namespace mae::config {
class JobConfig;
}

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

// --resume PATH, or --resume auto (the newest checkpoint in output_dir, if any): loads the model (strictly), and,
// unless `weights_only`, the optimizer and scaler state. Returns where to start: config.start_epoch when nothing is
// resumed, the epoch after the checkpoint's, or the very step a preempted run stopped at (which needs the same seed,
// `shape` and an --accum_iter that divides the step: a UsageError names what differs).
TrainingStart resume_training(const config::JobConfig& config, torch::nn::Module& model, Optimizer* optimizer,
                              GradScaler* scaler, const RunShape& shape, bool weights_only = false);

// Hands the checkpoints due after `epoch` (checkpoints_due) in output_dir to `writer`: the state is copied now, the
// files are written in the background. Nothing when output_dir is empty or nothing is due.
void save_epoch_checkpoints(const config::JobConfig& config, int64_t epoch, const torch::nn::Module& model,
                            const Optimizer& optimizer, const GradScaler& scaler, CheckpointWriter& writer);

// A checkpoint of the state after `position` inside an epoch, to output_dir/checkpoint-last.pth (whatever
// --save_last says, as --resume auto reads that file first): the state is copied now, after the write in flight, and
// written in the background (--save_interval_minutes). Nothing when there is no output_dir.
void submit_position_checkpoint(const config::JobConfig& config, const EpochPosition& position,
                                const torch::nn::Module& model, const Optimizer& optimizer, const GradScaler& scaler,
                                CheckpointWriter& writer);

// A preempted run's checkpoint: submit_position_checkpoint, and on disk when this returns.
void save_position_checkpoint(const config::JobConfig& config, const EpochPosition& position,
                              const torch::nn::Module& model, const Optimizer& optimizer, const GradScaler& scaler,
                              CheckpointWriter& writer);

}  // namespace mae::engine
