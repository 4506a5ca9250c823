// engine/knn.cpp against scripts/reference/knn_reference.py (DINO's weighted kNN classifier) on its fixed features:
// the same predictions and accuracies exactly, the class scores to a relative 1e-5; at a sharp temperature the same
// ranking as DINO's computation in float64; features and labels that cannot be ranked refused, naming the row.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <limits>

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
    const auto& expected = f.tensors.at(std::string(name) + "_scores").to(torch::kDouble);
    const auto scores = result.scores.to(torch::kDouble).exp();  // ours are the logarithms of DINO's
    const double worst = ((scores - expected).abs() / expected.abs().clamp_min(1.0)).max().item<double>();
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

// DINO's knn_classifier as written, exp(similarity / T) summed per class, in float64 (whose largest value, 1.8e308,
// is far above exp(1 / 0.01) = 2.7e43): each test row's classes, best first (a stable sort, as ours).
at::Tensor float64_ranking(const at::Tensor& train, const at::Tensor& train_labels, const at::Tensor& test,
                           double temperature, int64_t k, int64_t num_classes) {
  const auto normalised = [](const at::Tensor& x) {
    const auto d = x.to(torch::kDouble);
    return d / d.norm(2, 1, /*keepdim=*/true);
  };
  const auto [similarity, indices] = torch::mm(normalised(test), normalised(train).t()).topk(k, 1);
  const auto neighbours = train_labels.view({1, -1}).expand({test.size(0), -1}).gather(1, indices);
  const auto votes = torch::zeros({test.size(0), num_classes}, torch::kDouble)
                         .scatter_add_(1, neighbours, similarity.div(temperature).exp());
  return std::get<1>(votes.sort(/*stable=*/true, 1, /*descending=*/true));
}

TEST(KnnClassifier, SharpTemperatureRanksAsFloat64Does) {
  // Five close clusters (centres 0.3 apart around one direction, spread 0.15): neighbours of several classes have
  // similarities above 0.89, where exp(similarity / 0.01) passes float32's largest value (3.4e38 = exp(88.7)). Summed
  // as DINO writes it in float32, the votes of those classes were all inf and tied, the lowest class number winning:
  // top-1 82.5 % here against float64's 100 %.
  torch::manual_seed(1);
  constexpr int64_t kClasses = 5;
  const auto direction = torch::randn({16});
  const auto centres = direction + 0.3 * torch::randn({kClasses, 16});
  const auto train_labels = torch::arange(100, torch::kLong) % kClasses;
  const auto test_labels = torch::arange(40, torch::kLong) % kClasses;
  const auto train = centres.index_select(0, train_labels) + 0.15 * torch::randn({100, 16});
  const auto test = centres.index_select(0, test_labels) + 0.15 * torch::randn({40, 16});
  const auto result = mae::engine::knn_classify(train, train_labels, test, test_labels, {20, 0.01, kClasses});
  const auto expected = float64_ranking(train, train_labels, test, 0.01, 20, kClasses);
  EXPECT_FALSE(result.scores.isnan().any().item<bool>());
  EXPECT_TRUE(torch::equal(result.predictions, expected.select(1, 0)));
  EXPECT_TRUE(torch::equal(std::get<1>(result.scores.sort(/*stable=*/true, 1, /*descending=*/true)), expected));
  EXPECT_EQ(result.top1, 100.0);
}

TEST(KnnClassifier, FeaturesThatAreNotFiniteAreNamedByRow) {
  // Today a nan or an inf feature makes its row nan once normalised, and the vote goes on with it, silently.
  const auto labels = torch::tensor({0, 1, 0, 1}, torch::kLong);
  auto train = torch::randn({4, 3});
  train[2][1] = std::numeric_limits<float>::quiet_NaN();
  const auto test = torch::randn({4, 3});
  const std::string nan_row = mae::test::error_of<mae::UsageError>(
      [&] { mae::engine::knn_classify(train, labels, test, labels, {3, 0.07, 2}); });
  EXPECT_NE(nan_row.find("row 2 of the training set has a non-finite feature (nan in column 1)"), std::string::npos)
      << nan_row;
  auto infinite = test.clone();
  infinite[3][0] = std::numeric_limits<float>::infinity();
  mae::engine::KnnOptions named{3, 0.07, 2};
  named.test_name = "'val.safetensors'";
  const std::string inf_row = mae::test::error_of<mae::UsageError>(
      [&] { mae::engine::knn_classify(test, labels, infinite, labels, named); });
  EXPECT_NE(inf_row.find("row 3 of 'val.safetensors' has a non-finite feature (inf in column 0)"), std::string::npos)
      << inf_row;
}

TEST(KnnClassifier, LabelsMustBeClassNumbers) {
  // Today a float label fails inside torch's scatter_add_ (not a mae::Error, naming nothing), and a test label 2 of
  // two classes counts as a miss, silently.
  const auto features = torch::randn({3, 4});
  const auto labels = torch::tensor({0, 1, 1}, torch::kLong);
  mae::engine::KnnOptions options{2, 0.07, 2};
  options.train_name = "'train.safetensors'";
  const std::string fractional = mae::test::error_of<mae::UsageError>([&] {
    mae::engine::knn_classify(features, torch::tensor({0.0, 2.5, 1.0}), features, labels, options);
  });
  EXPECT_NE(fractional.find("label 2.5 in row 1 of 'train.safetensors' is not a class number"), std::string::npos)
      << fractional;
  const std::string too_large = mae::test::error_of<mae::UsageError>([&] {
    mae::engine::knn_classify(features, labels, features, torch::tensor({0, 1, 2}, torch::kLong), options);
  });
  EXPECT_NE(too_large.find("label 2 in row 2 of the test set is not a class number of [0, 2)"), std::string::npos)
      << too_large;
  const std::string negative = mae::test::error_of<mae::UsageError>([&] {
    mae::engine::knn_classify(features, torch::tensor({0, -1, 1}, torch::kLong), features, labels);
  });
  EXPECT_NE(negative.find("label -1 in row 1 of the training set"), std::string::npos) << negative;
  // Whole numbers stored as floats are class numbers.
  EXPECT_EQ(mae::engine::knn_classify(features, labels.to(torch::kFloat), features, labels, options).top1, 100.0);
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
