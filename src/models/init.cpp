#include "mae/models/init.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

namespace mae::models {

void trunc_normal_(at::Tensor& tensor, double std, double mean, double a, double b) {
  // timm's method: uniform over [cdf(a), cdf(b)], mapped back through the inverse CDF (erfinv).
  const c10::NoGradGuard no_grad;
  const auto normal_cdf = [](double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; };
  const double low = normal_cdf((a - mean) / std);
  const double high = normal_cdf((b - mean) / std);
  tensor.uniform_(2 * low - 1, 2 * high - 1);
  tensor.erfinv_();
  tensor.mul_(std * std::sqrt(2.0)).add_(mean);
  tensor.clamp_(a, b);
}

}  // namespace mae::models
