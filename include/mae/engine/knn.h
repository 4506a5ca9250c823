#pragma once
// The weighted k-nearest-neighbour classifier of DINO's eval_knn.py (knn_classifier), the usual measure of frozen
// features: cosine similarity between L2-normalised features, the k most similar training samples vote for their
// class with weight exp(similarity / T), top-1 and top-5 accuracy over the test set. The votes are summed as
// log-sum-exp, so a sharp temperature does not overflow float32: DINO's exp(similarity / 0.01) is inf from similarity
// 0.89 on, and the classes whose votes are inf tie, the lowest class number winning.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace mae::engine {

struct KnnOptions {
  int64_t k = 20;             // neighbours (DINO's nb_knn 20)
  double temperature = 0.07;  // DINO's T
  int64_t num_classes = 0;    // 0: one more than the largest label of either set
  // What the error messages call the two sets (mae_extract: the features files' paths).
  std::string train_name = "the training set";
  std::string test_name = "the test set";
};

struct KnnResult {
  double top1 = 0.0;  // percent of the test samples whose highest-scoring class is their label
  double top5 = 0.0;  // percent whose label is among the five highest-scoring classes (fewer with fewer classes)
  int64_t k = 0;      // neighbours used: KnnOptions::k, or every training sample when there are fewer
  int64_t train_samples = 0;
  int64_t test_samples = 0;
  at::Tensor predictions;  // [M] int64: each test sample's highest-scoring class
  // [M, num_classes] float32: log of DINO's score, the sum of exp(similarity / T) over the neighbours of each class
  // (-inf for a class without one), computed without ever forming the sum.
  at::Tensor scores;
};

// Features [N, D] and [M, D] (any floating type, any device; normalised here in float32), labels [N] and [M] of class
// numbers (int64, or whole numbers of another type, as a file may hold them). Classes are ranked as DINO's
// probs.sort(1, True), made stable (equal scores keep class order) so that the ranking is defined. UsageError for
// sets that do not fit together (widths, lengths, no training sample), a row that is not finite (a nan or inf
// feature, or a norm beyond float32) and a label that is not a class number in [0, num_classes), each naming the
// set and the row.
KnnResult knn_classify(const at::Tensor& train_features, const at::Tensor& train_labels,
                       const at::Tensor& test_features, const at::Tensor& test_labels, const KnnOptions& options = {});

// "kNN (k 20, T 0.07): top-1 87.20 %, top-5 98.40 % on 500 test samples against 4500"
std::string describe(const KnnResult& result, const KnnOptions& options);

}  // namespace mae::engine
