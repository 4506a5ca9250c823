#pragma once
// RAII equivalent of Python's `with torch.autocast(device_type, dtype)`: ops on that device type run in the lower
// precision that autocast's per-op policy chooses (matmuls in bf16/fp16, reductions and norms kept in fp32).
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include <c10/core/Device.h>

#include <optional>
#include <string>

namespace mae::engine {

// A run's precision, from --amp.
struct Precision {
  std::optional<c10::ScalarType> autocast;  // bf16 or fp16 autocast; none for fp32
  bool loss_scaling = false;                // fp16 needs the dynamic loss scaler
};

// --amp bf16: bf16 autocast; fp16: fp16 autocast with loss scaling (the reference's torch.cuda.amp setup); off: fp32;
// auto: fp32 on the CPU, bf16 on a GPU that computes it natively (`native_bf16`), fp16 with loss scaling on older
// GPUs (the reference's V100s), where bf16 would only be emulated.
Precision resolve_precision(const std::string& amp, bool cuda, bool native_bf16);

// "fp32", "bf16 autocast" or "fp16 autocast with loss scaling": what a run's logs and benchmarks report.
std::string describe(const Precision& precision);

// Whether the GPU `device` has native bf16: compute capability 8.0 (Ampere) or later.
bool has_native_bf16(const c10::Device& device);

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

}  // namespace mae::engine
