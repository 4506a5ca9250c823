#pragma once
// The weighted k-nearest-neighbour classifier of DINO's eval_knn.py (knn_classifier), the usual measure of frozen
// features: cosine similarity between L2-normalised features, the k most similar training samples vote for their
// class with weight exp(similarity / T), top-1 and top-5 accuracy over the test set.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace mae::engine {

struct KnnOptions {
  int64_t k = 20;             // neighbours (DINO's nb_knn 20)
  double temperature = 0.07;  // DINO's T
  int64_t num_classes = 0;    // 0: one more than the largest label of either set
};

struct KnnResult {
  double top1 = 0.0;  // percent of the test samples whose highest-scoring class is their label
  double top5 = 0.0;  // percent whose label is among the five highest-scoring classes (fewer with fewer classes)
  int64_t k = 0;      // neighbours used: KnnOptions::k, or every training sample when there are fewer
  int64_t train_samples = 0;
  int64_t test_samples = 0;
  at::Tensor predictions;  // [M] int64: each test sample's highest-scoring class
  at::Tensor scores;       // [M, num_classes] float32: sum of exp(similarity / T) over the neighbours of each class
};

// Features [N, D] and [M, D] (any floating type, any device; normalised here in float32), labels [N] and [M] int64.
// Classes are ranked as DINO's probs.sort(1, True), made stable (equal scores keep class order) so that the ranking
// is defined. UsageError for sets that do not fit together (widths, lengths, negative labels, no training sample).
KnnResult knn_classify(const at::Tensor& train_features, const at::Tensor& train_labels,
                       const at::Tensor& test_features, const at::Tensor& test_labels, const KnnOptions& options = {});

// "kNN (k 20, T 0.07): top-1 87.20 %, top-5 98.40 % on 500 test samples against 4500"
std::string describe(const KnnResult& result, const KnnOptions& options);

}  // namespace mae::engine
