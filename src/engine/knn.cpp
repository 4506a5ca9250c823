#include "mae/engine/knn.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <limits>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::engine {
namespace {

// torch.nn.functional.normalize(x, dim=1, p=2): x / max(||x||, 1e-12). A row whose norm is not finite (a nan or inf
// feature, or features whose squares pass float32's range) would become nan or zeros and vote silently wrong, so it
// is refused, naming the set and the row.
at::Tensor l2_normalised(const at::Tensor& features, const std::string& name) {
  const at::Tensor x = features.to(at::kFloat);
  const at::Tensor norms = x.norm(2, 1, /*keepdim=*/true);
  const at::Tensor bad_rows = norms.isfinite().logical_not().flatten().nonzero();
  if (bad_rows.numel() > 0) {
    const int64_t row = bad_rows[0][0].item<int64_t>();
    const at::Tensor values = features[row].to(at::kDouble).cpu();
    const at::Tensor bad_columns = values.isfinite().logical_not().nonzero();
    std::string what = "features too large to normalise in float32";
    if (bad_columns.numel() > 0) {
      const int64_t column = bad_columns[0][0].item<int64_t>();
      what = text("a non-finite feature (", values[column].item<double>(), " in column ", column, ")");
    }
    throw UsageError(text("kNN: row ", row, " of ", name, " has ", what, ": features of a diverged encoder or a ",
                          "damaged file cannot be ranked; extract them again"));
  }
  return x / norms.clamp_min(1e-12);
}

// The labels as int64 class numbers. A fractional label (a file may store labels as floats) would be truncated into
// another class, so it is refused, naming the set and the row.
at::Tensor class_numbers(const at::Tensor& labels, const std::string& name) {
  if (at::isFloatingType(labels.scalar_type())) {
    const at::Tensor bad = labels.isfinite().logical_and(labels.eq(labels.trunc())).logical_not().nonzero();
    if (bad.numel() > 0) {
      const int64_t row = bad[0][0].item<int64_t>();
      throw UsageError(text("kNN: label ", labels[row].item<double>(), " in row ", row, " of ", name,
                            " is not a class number (a whole number)"));
    }
  }
  return labels.to(at::kLong);
}

void check_range(const at::Tensor& labels, int64_t num_classes, const std::string& name) {
  const at::Tensor bad = labels.lt(0).logical_or(labels.ge(num_classes)).nonzero();
  if (bad.numel() > 0) {
    const int64_t row = bad[0][0].item<int64_t>();
    throw UsageError(text("kNN: label ", labels[row].item<int64_t>(), " in row ", row, " of ", name,
                          " is not a class number of [0, ", num_classes, ")"));
  }
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
  const at::Tensor train_classes = class_numbers(train_labels, options.train_name);
  const at::Tensor test_classes = class_numbers(test_labels, options.test_name);
  int64_t num_classes = options.num_classes;
  if (num_classes == 0) {
    num_classes = train_classes.max().item<int64_t>() + 1;
    if (test_classes.numel() > 0) {
      num_classes = std::max(num_classes, test_classes.max().item<int64_t>() + 1);
    }
  }
  check_range(train_classes, num_classes, options.train_name);
  check_range(test_classes, num_classes, options.test_name);
  KnnResult result;
  result.k = std::min<int64_t>(options.k, train_features.size(0));
  const at::Tensor train = l2_normalised(train_features, options.train_name).t();  // [D, N]
  const at::Tensor test = l2_normalised(test_features.to(device), options.test_name);
  const at::Tensor candidates = train_classes.to(device).view({1, -1});
  const at::Tensor targets = test_classes.to(device);
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
    // log sum exp(s / T) over a class's neighbours as m / T + log sum exp((s - m) / T), m the class's highest
    // similarity: every term is at most 1 and the sum at least 1, so neither overflows nor vanishes. A class without
    // neighbours keeps m = -inf and the sum 0: log 0 = -inf, DINO's score 0.
    const at::Tensor peaks = at::full({rows, num_classes}, -std::numeric_limits<float>::infinity(), distances.options())
                                 .scatter_reduce_(1, neighbours, distances, "amax");
    const at::Tensor terms = (distances - peaks.gather(1, neighbours)).div(options.temperature).exp();
    const at::Tensor sums = at::zeros_like(peaks).scatter_add_(1, neighbours, terms);
    const at::Tensor votes = peaks.div(options.temperature) + sums.log();
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
