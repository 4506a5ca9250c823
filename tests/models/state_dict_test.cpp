#include <gtest/gtest.h>

#include <torch/torch.h>

#include "mae/models/mae.h"
#include "mae/models/state_dict.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

mae::models::MaeOptions tiny() {
  return {{16, 8, 3, 16, 1, 2, 4.0}, 8, 1, 2};  // encoder, decoder width/depth/heads
}

TEST(StateDict, RoundTripsBetweenModels) {
  torch::manual_seed(0);
  mae::models::MaskedAutoencoderViT source(tiny());
  torch::manual_seed(1);
  mae::models::MaskedAutoencoderViT target(tiny());
  const auto report = mae::models::load_state_dict(*target, mae::models::state_dict(*source), /*strict=*/true);
  EXPECT_TRUE(report.missing_keys.empty());
  EXPECT_TRUE(report.unexpected_keys.empty());
  const auto a = mae::models::state_dict(*source);
  const auto b = mae::models::state_dict(*target);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
  }
}

TEST(StateDict, ReportsMissingAndUnexpectedAndRejectsShapeMismatch) {
  mae::models::MaskedAutoencoderViT model(tiny());
  auto entries = mae::models::state_dict(*model);
  entries.erase(entries.begin());  // cls_token
  entries.emplace_back("head.weight", torch::zeros({3}));
  const auto report = mae::models::load_state_dict(*model, entries, /*strict=*/false);
  EXPECT_EQ(report.missing_keys, std::vector<std::string>{"cls_token"});
  EXPECT_EQ(report.unexpected_keys, std::vector<std::string>{"head.weight"});
  EXPECT_THROW(mae::models::load_state_dict(*model, entries, /*strict=*/true), mae::Error);

  mae::models::NamedTensors wrong{{"norm.weight", torch::zeros({5})}};
  EXPECT_EQ(mae::test::error_of([&] { mae::models::load_state_dict(*model, wrong, /*strict=*/false); }),
            "checkpoint does not fit the model: 1 tensors differ in shape: 'norm.weight' has shape [5] in the "
            "checkpoint and [16] in the model");
}

}  // namespace
