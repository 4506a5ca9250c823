#pragma once
// One training epoch as engine_pretrain.train_one_epoch and engine_finetune.train_one_epoch both run it: the
// per-iteration schedule on update steps, the job's forward pass, a stop on a non-finite loss, the TrainingStep
// (backward, gradient sync, scaler, clipping, optimizer step), and the MetricLogger lines. In a multi-process job
// the epoch's averages are taken over all ranks. A stop signal (util/stop_signals.h) ends the epoch early, and an
// interval save (interval_saves.h) writes a position checkpoint, at update boundaries that all ranks agree on.
#include <torch/nn/module.h>

#include <functional>
#include <optional>
#include <string>

#include "mae/data/batch_stream.h"
#include "mae/engine/lr_schedule.h"
#include "mae/engine/step_profiler.h"
#include "mae/engine/tensorboard.h"
#include "mae/jobs/training_step.h"

namespace mae::config {
class JobConfig;
}

namespace mae::jobs {

class IntervalSaves;

struct EpochStats {
  double lr = 0.0;    // global average of the largest group lr (for pre-training all groups have the same)
  double loss = 0.0;  // global average of the per-iteration loss
  // Set when a stop signal ended the epoch early: the number of batches trained (its steps from 0), always at an
  // update boundary and before the epoch's last step (a stop asked for during the last one is honoured at the next
  // epoch's first update). lr and loss are then unset.
  std::optional<int64_t> stopped_after;
};

// The loss of one batch at `step` (under autocast, on the device): the job's forward pass.
using LossFunction = std::function<at::Tensor(data::Batch& batch, int64_t step)>;

// engine_*.train_one_epoch's TensorBoard scalars, written on update steps at x = int((step / steps + epoch) * 1000):
// the loss averaged over the ranks, under `loss_tag` ("train_loss" for pre-training, "loss" for the classifiers),
// and the largest group lr under "lr". When `enabled` (--log_dir set) every rank joins the loss average, as the
// reference's all_reduce_mean; `writer` is rank 0's (null elsewhere).
struct StepScalars {
  bool enabled = false;
  engine::TensorBoardWriter* writer = nullptr;
  std::string loss_tag;
};

// Trains `epoch` from batch `first_step` on (not 0 only when resuming a preempted run). `profiler`, when given, sees
// every step as epoch * batches per epoch + step, loading included. `saves`, when given, writes a position
// checkpoint at the update boundaries where it is due on any rank (never after the epoch's last step: the epoch's own
// checkpoint follows).
EpochStats train_one_epoch(torch::nn::Module& model, data::BatchStream& loader, TrainingStep& training_step,
                           const engine::LrSchedule& schedule, int64_t epoch, int64_t first_step,
                           const LossFunction& compute_loss, const StepScalars& scalars,
                           engine::StepProfiler* profiler = nullptr, IntervalSaves* saves = nullptr);

// Computes the absolute lr (--lr, or blr * effective batch / 256) and logs it as main_*.py do: base lr, actual lr,
// accumulate grad iterations, effective batch size.
double log_learning_rate(const config::JobConfig& config, int world_size);

}  // namespace mae::jobs
