// engine/knn.cpp against scripts/reference/knn_reference.py (DINO's weighted kNN classifier) on its fixed features:
// the same predictions and accuracies exactly, the class scores to a relative 1e-5.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "mae/engine/knn.h"
#include "mae/io/safetensors.h"
#include "support/test_support.h"

namespace {

struct Fixture {
  std::map<std::string, at::Tensor> tensors;
  mae::io::Metadata metadata;
};

Fixture load_fixture() {
  const auto file = mae::io::load_safetensors((mae::test::source_dir() / "tests/fixtures/engine/knn.safetensors").string());
  Fixture fixture;
  for (const auto& [name, tensor] : file.tensors) {
    fixture.tensors[name] = tensor;
  }
  fixture.metadata = file.metadata;
  return fixture;
}

TEST(KnnClassifier, MatchesTheReferenceImplementation) {
  const Fixture f = load_fixture();
  for (const auto& [name, k, temperature] : {std::tuple{"k20", 20, 0.07}, std::tuple{"k5_t05", 5, 0.5}}) {
    SCOPED_TRACE(name);
    const auto result = mae::engine::knn_classify(f.tensors.at("train_features"), f.tensors.at("train_labels"),
                                                  f.tensors.at("test_features"), f.tensors.at("test_labels"),
                                                  {k, temperature, 10});
    EXPECT_TRUE(torch::equal(result.predictions, f.tensors.at(std::string(name) + "_predictions")));
    const auto& expected = f.tensors.at(std::string(name) + "_scores");
    const double worst = ((result.scores - expected).abs() / expected.abs().clamp_min(1.0)).max().item<double>();
    EXPECT_LE(worst, 1e-5);
    EXPECT_EQ(result.top1, std::stod(f.metadata.at(std::string(name) + "_top1")));
    EXPECT_EQ(result.top5, std::stod(f.metadata.at(std::string(name) + "_top5")));
    EXPECT_EQ(result.k, k);
  }
}

TEST(KnnClassifier, VotesAreWeightedBySimilarity) {
  // Two training points of class 0 at 90 degrees from the test point and one of class 1 close to it: with k = 3 the
  // close one outweighs the two far ones at T = 0.07 but not at T = 10.
  const auto train = torch::tensor({{0.0f, 1.0f}, {0.0f, -1.0f}, {1.0f, 0.1f}});
  const auto train_labels = torch::tensor({0, 0, 1}, torch::kLong);
  const auto test = torch::tensor({{2.0f, 0.0f}});
  const auto test_labels = torch::tensor({1}, torch::kLong);
  const auto sharp = mae::engine::knn_classify(train, train_labels, test, test_labels, {3, 0.07, 2});
  EXPECT_EQ(sharp.predictions.item<int64_t>(), 1);
  EXPECT_EQ(sharp.top1, 100.0);
  const auto flat = mae::engine::knn_classify(train, train_labels, test, test_labels, {3, 10.0, 2});
  EXPECT_EQ(flat.predictions.item<int64_t>(), 0);
  EXPECT_EQ(flat.top1, 0.0);
  EXPECT_EQ(flat.top5, 100.0);  // both classes are within the top five
  // k larger than the training set: every training point votes.
  EXPECT_EQ(mae::engine::knn_classify(train, train_labels, test, test_labels, {20, 0.07, 2}).k, 3);
}

TEST(KnnClassifier, SetsThatDoNotFitAreUsageErrors) {
  const auto features = torch::randn({4, 3});
  const auto labels = torch::tensor({0, 1, 0, 1}, torch::kLong);
  EXPECT_NE(mae::test::error_of<mae::UsageError>([&] {
              mae::engine::knn_classify(features, labels, torch::randn({2, 5}), labels.slice(0, 0, 2));
            }).find("same width"),
            std::string::npos);
  EXPECT_NE(mae::test::error_of<mae::UsageError>([&] {
              mae::engine::knn_classify(features, labels.slice(0, 0, 3), features, labels);
            }).find("one label per feature row"),
            std::string::npos);
}

}  // namespace
