#include "mae/engine/losses.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace mae::engine {

at::Tensor soft_target_cross_entropy(const at::Tensor& logits, const at::Tensor& targets) {
  return at::sum(-targets * at::log_softmax(logits, -1), -1).mean();
}

at::Tensor label_smoothing_cross_entropy(const at::Tensor& logits, const at::Tensor& labels, double smoothing) {
  const at::Tensor log_probs = at::log_softmax(logits, -1);
  const at::Tensor nll = -log_probs.gather(-1, labels.unsqueeze(1)).squeeze(1);
  const at::Tensor smooth = -log_probs.mean(-1);
  return ((1.0 - smoothing) * nll + smoothing * smooth).mean();
}

std::pair<double, double> top1_top5(const at::Tensor& logits, const at::Tensor& labels) {
  const int64_t k = std::min<int64_t>(5, logits.size(1));
  const at::Tensor top = std::get<1>(logits.topk(k, 1, true, true)).t();
  const at::Tensor correct = top.eq(labels.view({1, -1}).expand_as(top));
  const auto batch = static_cast<double>(labels.size(0));
  const double top1 = correct.slice(0, 0, 1).sum().item<double>() * 100.0 / batch;
  const double top5 = correct.slice(0, 0, std::min<int64_t>(5, k)).sum().item<double>() * 100.0 / batch;
  return {top1, top5};
}

}  // namespace mae::engine
