#pragma once
// The loop main_pretrain.py and main_finetune.py / main_linprobe.py run around their epochs, once for all jobs: the
// per-iteration lr schedule, rank 0's TensorBoard writer, the background checkpoint writer, stop signals (a stop's
// position checkpoint and exit), --save_interval_minutes, the profiler; after every epoch its checkpoints, then the
// job's own end of epoch (the kNN monitor or the evaluation, log.txt); at the end the wait for the last checkpoint
// and the training time.
#include <functional>
#include <string>

#include "mae/engine/grad_scaler.h"
#include "mae/engine/optimizer.h"
#include "mae/engine/tensorboard.h"
#include "mae/engine/training_state.h"
#include "mae/jobs/run_context.h"
#include "mae/jobs/train_one_epoch.h"

namespace mae::jobs {

// What the loop runs on; every reference outlives run_epochs.
struct EpochLoop {
  const config::JobConfig& config;
  const RunContext& context;
  torch::nn::Module& model;
  data::BatchStream& loader;
  TrainingStep& training_step;
  engine::Optimizer& optimizer;
  engine::GradScaler& scaler;
  engine::TrainingStart start;  // where resume_training said to begin
  double lr;                    // the absolute peak lr of the schedule
  std::string job;              // "pretrain", "finetune" or "linprobe": the profiler trace's name
  std::string loss_tag;         // the per-step loss's TensorBoard tag
};

// The loss of one batch at `step` of `epoch` (the job's forward pass, under its autocast).
using EpochLoss = std::function<at::Tensor(data::Batch& batch, int64_t epoch, int64_t step)>;

// The job's end of an epoch, after the epoch's checkpoints were handed to the writer: `tensorboard` is rank 0's
// writer (null on other ranks and without --log_dir).
using EpochEnd = std::function<void(int64_t epoch, const EpochStats& stats, engine::TensorBoardWriter* tensorboard)>;

// Trains from loop.start to --epochs. A stop signal ends the job with Preempted once its position checkpoint is on
// disk (preemption.h).
void run_epochs(const EpochLoop& loop, const EpochLoss& loss, const EpochEnd& epoch_end);

}  // namespace mae::jobs
