#pragma once
// util/lr_sched.py and the learning-rate arithmetic of the main_*.py scripts.
#include <optional>

namespace mae::engine {

struct LrSchedule {
  double lr = 0.0;  // the peak (absolute) learning rate
  double min_lr = 0.0;
  double warmup_epochs = 0.0;
  double epochs = 1.0;

  // adjust_learning_rate at a fractional epoch (epoch + step / steps_per_epoch): linear warm-up from 0, then a
  // half-cycle cosine from lr down to min_lr at `epochs`.
  double at(double epoch) const;
};

// --lr when given, else blr * effective_batch / 256 (effective_batch = batch_size * accum_iter * world_size).
double absolute_lr(std::optional<double> lr, double blr, long effective_batch_size);

}  // namespace mae::engine
