#include "mae/engine/lr_schedule.h"

#include <cmath>
#include <numbers>

namespace mae::engine {

double LrSchedule::at(double epoch) const {
  if (epoch < warmup_epochs) {
    return lr * epoch / warmup_epochs;
  }
  return min_lr + (lr - min_lr) * 0.5 *
                      (1.0 + std::cos(std::numbers::pi * (epoch - warmup_epochs) / (epochs - warmup_epochs)));
}

double absolute_lr(std::optional<double> lr, double blr, long effective_batch_size) {
  return lr ? *lr : blr * static_cast<double>(effective_batch_size) / 256.0;
}

}  // namespace mae::engine
