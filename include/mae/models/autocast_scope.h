#pragma once
// RAII equivalent of Python's `with torch.autocast(device_type, dtype)`: ops on that device type run in the lower
// precision that autocast's per-op policy chooses (matmuls in bf16/fp16, reductions and norms kept in fp32). In models
// because a checkpointed block (grad_checkpoint.h) replays its forward pass's autocast state in backward; the jobs
// choose the state (engine/autocast.h).
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include <optional>

namespace mae::models {

class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device_type, c10::ScalarType dtype, bool enabled = true);
  // A run's --amp choice: autocast to `dtype` when it has one, plain fp32 (autocast off) otherwise.
  AutocastScope(c10::DeviceType device_type, std::optional<c10::ScalarType> dtype)
      : AutocastScope(device_type, dtype.value_or(c10::ScalarType::BFloat16), dtype.has_value()) {}
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_type_;
  bool previous_enabled_;
  c10::ScalarType previous_dtype_;
};

}  // namespace mae::models
