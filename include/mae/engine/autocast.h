#pragma once
// RAII equivalent of Python's `with torch.autocast(device_type, dtype)`: ops on that device type run in the lower
// precision that autocast's per-op policy chooses (matmuls in bf16/fp16, reductions and norms kept in fp32).
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

namespace mae::engine {

class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device_type, c10::ScalarType dtype, bool enabled = true);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_type_;
  bool previous_enabled_;
  c10::ScalarType previous_dtype_;
};

}  // namespace mae::engine
