#include "mae/engine/knn.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::engine {
namespace {

// torch.nn.functional.normalize(x, dim=1, p=2): x / max(||x||, 1e-12).
at::Tensor l2_normalised(const at::Tensor& features) {
  const at::Tensor x = features.to(at::kFloat);
  return x / x.norm(2, 1, /*keepdim=*/true).clamp_min(1e-12);
}

void check_sets(const at::Tensor& train_features, const at::Tensor& train_labels, const at::Tensor& test_features,
                const at::Tensor& test_labels) {
  if (train_features.dim() != 2 || test_features.dim() != 2 || train_features.size(1) != test_features.size(1)) {
    throw UsageError(text("kNN: the training features ", train_features.sizes(), " and the test features ",
                          test_features.sizes(), " are not two [N, D] sets of the same width D"));
  }
  if (train_labels.dim() != 1 || train_labels.size(0) != train_features.size(0) || test_labels.dim() != 1 ||
      test_labels.size(0) != test_features.size(0)) {
    throw UsageError(text("kNN: labels ", train_labels.sizes(), " and ", test_labels.sizes(),
                          " do not give one label per feature row (", train_features.size(0), " and ",
                          test_features.size(0), ")"));
  }
  if (train_features.size(0) == 0) {
    throw UsageError("kNN: no training features to vote");
  }
  if ((train_labels.numel() > 0 && train_labels.min().item<int64_t>() < 0) ||
      (test_labels.numel() > 0 && test_labels.min().item<int64_t>() < 0)) {
    throw UsageError("kNN: a label is negative");
  }
}

}  // namespace

KnnResult knn_classify(const at::Tensor& train_features, const at::Tensor& train_labels,
                       const at::Tensor& test_features, const at::Tensor& test_labels, const KnnOptions& options) {
  check_sets(train_features, train_labels, test_features, test_labels);
  if (options.k < 1 || options.temperature <= 0) {
    throw UsageError(text("kNN: k ", options.k, " and temperature ", options.temperature, " must be positive"));
  }
  const c10::NoGradGuard no_grad;
  const auto device = train_features.device();
  int64_t num_classes = options.num_classes;
  if (num_classes == 0) {
    num_classes = train_labels.max().item<int64_t>() + 1;
    if (test_labels.numel() > 0) {
      num_classes = std::max(num_classes, test_labels.max().item<int64_t>() + 1);
    }
  }
  KnnResult result;
  result.k = std::min<int64_t>(options.k, train_features.size(0));
  const at::Tensor train = l2_normalised(train_features).t();  // [D, N]
  const at::Tensor test = l2_normalised(test_features.to(device));
  const at::Tensor candidates = train_labels.to(device).view({1, -1});
  const at::Tensor targets = test_labels.to(device);
  const int64_t total = test.size(0);
  std::vector<at::Tensor> predictions;
  std::vector<at::Tensor> scores;
  int64_t top1 = 0;
  int64_t top5 = 0;
  // Chunks of test rows bound the [rows, N] similarity matrix, as DINO's 100 chunks do.
  constexpr int64_t kRowsPerChunk = 256;
  for (int64_t start = 0; start < total; start += kRowsPerChunk) {
    const int64_t rows = std::min(kRowsPerChunk, total - start);
    const at::Tensor similarity = at::mm(test.slice(0, start, start + rows), train);
    const auto [distances, indices] = similarity.topk(result.k, 1, /*largest=*/true, /*sorted=*/true);
    const at::Tensor neighbours = at::gather(candidates.expand({rows, -1}), 1, indices);  // [rows, k] labels
    const at::Tensor weights = distances.div(options.temperature).exp();
    const at::Tensor votes = at::zeros({rows, num_classes}, weights.options()).scatter_add_(1, neighbours, weights);
    const at::Tensor ranked = std::get<1>(votes.sort(/*stable=*/true, 1, /*descending=*/true));
    const at::Tensor correct = ranked.eq(targets.slice(0, start, start + rows).view({-1, 1}));
    top1 += correct.narrow(1, 0, 1).sum().item<int64_t>();
    top5 += correct.narrow(1, 0, std::min<int64_t>(5, num_classes)).sum().item<int64_t>();
    predictions.push_back(ranked.select(1, 0).cpu());
    scores.push_back(votes.cpu());
  }
  result.test_samples = total;
  result.train_samples = train_features.size(0);
  result.top1 = total > 0 ? 100.0 * static_cast<double>(top1) / static_cast<double>(total) : 0.0;
  result.top5 = total > 0 ? 100.0 * static_cast<double>(top5) / static_cast<double>(total) : 0.0;
  result.predictions = predictions.empty() ? at::empty({0}, at::kLong) : at::cat(predictions);
  result.scores = scores.empty() ? at::empty({0, num_classes}) : at::cat(scores);
  return result;
}

std::string describe(const KnnResult& result, const KnnOptions& options) {
  return text("kNN (k ", result.k, ", T ", options.temperature, "): top-1 ", fixed(result.top1, 2), " %, top-5 ",
              fixed(result.top5, 2), " % on ", result.test_samples, " test samples against ", result.train_samples);
}

}  // namespace mae::engine
