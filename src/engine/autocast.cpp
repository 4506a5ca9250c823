#include "mae/engine/autocast.h"

#include <cpuinfo.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/DeviceGuard.h>

namespace mae::engine {

std::string describe(const Precision& precision) {
  if (!precision.autocast) {
    return "fp32";
  }
  return precision.loss_scaling ? "fp16 autocast with loss scaling" : "bf16 autocast";
}

Precision resolve_precision(const std::string& amp, bool cuda, const Bf16Support& bf16) {
  if (amp != "auto") {
    const std::string chosen = "--amp " + amp;
    if (amp == "bf16") {
      return {c10::ScalarType::BFloat16, false, chosen};
    }
    if (amp == "fp16") {
      return {c10::ScalarType::Half, true, chosen};
    }
    return {std::nullopt, false, chosen};
  }
  const std::string reason = "--amp auto: " + bf16.evidence;
  if (bf16.native) {
    return {c10::ScalarType::BFloat16, false, reason};
  }
  if (cuda) {
    return {c10::ScalarType::Half, true, reason + ", so fp16 with loss scaling as the reference"};
  }
  return {std::nullopt, false, reason + ", so fp32"};
}

Bf16Support cpu_bf16_support(bool amx_bf16, bool avx512_bf16) {
  if (amx_bf16) {
    return {true, "this CPU has AMX-BF16"};
  }
  if (avx512_bf16) {
    return {true, "this CPU has AVX512-BF16"};
  }
  return {false, "this CPU has neither AMX-BF16 nor AVX512-BF16"};
}

Bf16Support native_bf16(const c10::Device& device) {
  if (device.is_cpu()) {
    // cpuinfo is the library torch's own CPU capability queries read (at::cpu::get_cpu_capabilities in 2.13, the
    // oneDNN dispatch); its header ships with every LibTorch and libc10 exports it, where the at::cpu wrappers
    // changed between releases. On other architectures both flags are false.
    if (!cpuinfo_initialize()) {
      return {false, "this CPU's capabilities could not be read (cpuinfo)"};
    }
    return cpu_bf16_support(cpuinfo_has_x86_amx_bf16(), cpuinfo_has_x86_avx512bf16());
  }
  // ATen's hook checks the current device's compute capability (major >= 8) without this file needing the CUDA
  // headers; "convolution with cuDNN v8" in its name is history.
  const c10::DeviceGuard guard(device);
  if (at::detail::getCUDAHooks().supportsBFloat16ConvolutionWithCuDNNv8()) {
    return {true, device.str() + " has compute capability 8.0 or later (native bf16)"};
  }
  return {false, device.str() + " has compute capability below 8.0 (no native bf16)"};
}

}  // namespace mae::engine
