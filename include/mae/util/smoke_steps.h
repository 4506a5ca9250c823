#pragma once
// MAE_SMOKE_STEPS=N, the documented switch that shortens every run to a smoke test (tests/docs runs each command of
// README.md and docs/ with it, so that a documented command that stops working fails CI): each training epoch stops
// after N steps, each evaluation after N batches (the kNN monitor reads N batches of each of its sets), and mae_bench times at most N iterations of at most 2 images
// after at most one warm-up. The epochs, checkpoints and logs keep their names; their figures mean nothing, and the jobs say so.
#include <optional>

namespace mae {

// N; none when MAE_SMOKE_STEPS is unset or empty. UsageError for anything but a positive integer.
std::optional<int> smoke_steps();

}  // namespace mae
