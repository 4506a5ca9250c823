#pragma once
// The classification losses main_finetune.py chooses between, and timm's accuracy.
#include <ATen/core/Tensor.h>

#include <utility>

namespace mae::engine {

// timm SoftTargetCrossEntropy: mean over the batch of sum(-target * log_softmax(logits)). Used with mixup/cutmix.
at::Tensor soft_target_cross_entropy(const at::Tensor& logits, const at::Tensor& targets);

// timm LabelSmoothingCrossEntropy: (1 - s) * NLL + s * mean(-log_softmax), averaged over the batch.
at::Tensor label_smoothing_cross_entropy(const at::Tensor& logits, const at::Tensor& labels, double smoothing);

// timm.utils.accuracy(output, target, topk=(1, 5)): percentages of samples whose label is among the top k.
std::pair<double, double> top1_top5(const at::Tensor& logits, const at::Tensor& labels);

}  // namespace mae::engine
