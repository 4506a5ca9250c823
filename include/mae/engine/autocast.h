#pragma once
// A run's precision from --amp: which autocast dtype (models/autocast_scope.h applies it), whether the loss is scaled,
// and why, for the log.
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <optional>
#include <string>

namespace mae::engine {

// A run's precision, from --amp.
struct Precision {
  std::optional<c10::ScalarType> autocast;  // bf16 or fp16 autocast; none for fp32
  bool loss_scaling = false;                // fp16 needs the dynamic loss scaler
  std::string reason;                       // why --amp came to this, e.g. "--amp auto: this CPU has AMX-BF16"
};

// Whether a device computes bf16 natively, and what says so.
struct Bf16Support {
  bool native = false;
  std::string evidence;  // "this CPU has AVX512-BF16", "cuda:0 has compute capability 8.0 or later", ...
};

// --amp bf16: bf16 autocast; fp16: fp16 autocast with loss scaling (the reference's torch.cuda.amp setup); off: fp32;
// auto: bf16 where the device computes it natively (`bf16`: GPUs from Ampere on, CPUs with AMX-BF16 or AVX512-BF16),
// else fp16 with loss scaling on a GPU (the reference's V100s) and fp32 on a CPU, where bf16 would only be emulated.
Precision resolve_precision(const std::string& amp, bool cuda, const Bf16Support& bf16);

// "fp32", "bf16 autocast" or "fp16 autocast with loss scaling": what a run's logs and benchmarks report.
std::string describe(const Precision& precision);

// bf16 support of `device`: a GPU of compute capability 8.0 (Ampere) or later; a CPU with AMX-BF16 or AVX512-BF16 (as
// cpuinfo, which torch's own capability queries read, reports them).
Bf16Support native_bf16(const c10::Device& device);

// The CPU half of native_bf16, from the two capability flags.
Bf16Support cpu_bf16_support(bool amx_bf16, bool avx512_bf16);

}  // namespace mae::engine
