#include "mae/engine/autocast.h"

#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/DeviceGuard.h>

namespace mae::engine {

AutocastScope::AutocastScope(c10::DeviceType device_type, c10::ScalarType dtype, bool enabled)
    : device_type_(device_type),
      previous_enabled_(at::autocast::is_autocast_enabled(device_type)),
      previous_dtype_(at::autocast::get_autocast_dtype(device_type)) {
  at::autocast::set_autocast_enabled(device_type_, enabled);
  at::autocast::set_autocast_dtype(device_type_, dtype);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  // As torch.autocast.__exit__: the cast-weight cache lives until the outermost scope ends.
  if (at::autocast::decrement_nesting() == 0) {
    at::autocast::clear_cache();
  }
  at::autocast::set_autocast_enabled(device_type_, previous_enabled_);
  at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
}

std::string describe(const Precision& precision) {
  if (!precision.autocast) {
    return "fp32";
  }
  return precision.loss_scaling ? "fp16 autocast with loss scaling" : "bf16 autocast";
}

Precision resolve_precision(const std::string& amp, bool cuda, bool native_bf16) {
  if (amp == "bf16" || (amp == "auto" && cuda && native_bf16)) {
    return {c10::ScalarType::BFloat16, false};
  }
  if (amp == "fp16" || (amp == "auto" && cuda)) {
    return {c10::ScalarType::Half, true};
  }
  return {};
}

bool has_native_bf16(const c10::Device& device) {
  // ATen's hook checks the current device's compute capability (major >= 8) without this file needing the CUDA
  // headers; "convolution with cuDNN v8" in its name is history.
  const c10::DeviceGuard guard(device);
  return at::detail::getCUDAHooks().supportsBFloat16ConvolutionWithCuDNNv8();
}

}  // namespace mae::engine
