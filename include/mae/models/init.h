#pragma once
// Initialisers the reference uses that LibTorch does not have.
#include <ATen/core/Tensor.h>

namespace mae::models {

// timm's trunc_normal_: N(mean, std) restricted to [a, b] (absolute bounds, by inverse-CDF sampling), in place.
void trunc_normal_(at::Tensor& tensor, double std, double mean = 0.0, double a = -2.0, double b = 2.0);

}  // namespace mae::models
