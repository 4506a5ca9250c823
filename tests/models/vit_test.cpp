#include <gtest/gtest.h>

#include <torch/torch.h>

#include "fixtures.h"
#include "mae/models/vit.h"

namespace {

using mae::models::VisionTransformer;
using mae::models::VitOptions;

VitOptions tiny_vit(bool global_pool) {
  VitOptions options;
  options.encoder = {32, 8, 3, 32, 2, 4, 4.0};
  options.num_classes = 5;
  options.global_pool = global_pool;
  return options;
}

TEST(VisionTransformerParity, LogitsMatchTheReferenceForBothPoolings) {
  const auto fixture = mae::test::load_model_fixture("vit_tiny");
  const auto imgs = fixture.at("imgs").toTensor();
  torch::NoGradGuard no_grad;
  for (const bool global_pool : {true, false}) {
    const std::string key = global_pool ? "global_pool" : "cls_token";
    VisionTransformer model(tiny_vit(global_pool));
    mae::models::load_state_dict(*model, mae::test::named_tensors(fixture.at("model_" + key)), /*strict=*/true);
    model->eval();
    EXPECT_TRUE(
        mae::test::matches_reference(model->forward(imgs), fixture.at("logits_" + key).toTensor(), "logits " + key));
  }
}

TEST(VisionTransformer, GlobalPoolHasFcNormAndNoNorm) {
  VisionTransformer pooled(tiny_vit(true));
  VisionTransformer cls(tiny_vit(false));
  std::vector<std::string> pooled_names;
  for (const auto& [name, tensor] : mae::models::state_dict(*pooled)) {
    pooled_names.push_back(name);
  }
  EXPECT_EQ(pooled_names.back(), "fc_norm.bias");
  EXPECT_EQ(std::count(pooled_names.begin(), pooled_names.end(), "norm.weight"), 0);
  EXPECT_TRUE(cls->fc_norm.is_empty());
  EXPECT_FALSE(cls->norm.is_empty());
}

TEST(VisionTransformer, DropPathRampsFromZeroToTheRate) {
  VitOptions options = tiny_vit(true);
  options.encoder.depth = 5;
  options.drop_path_rate = 0.2;
  VisionTransformer model(options);
  std::vector<double> rates;
  for (const auto& block : *model->blocks) {
    rates.push_back(block->as<mae::models::BlockImpl>()->drop_path->drop_prob);
  }
  ASSERT_EQ(rates.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(rates[i], 0.05 * static_cast<double>(i), 1e-7);
  }
}

TEST(VisionTransformer, DropPathDropsWholeSamplesInTrainingOnly) {
  torch::manual_seed(4);
  mae::models::DropPath drop(0.5);
  const auto x = torch::ones({64, 3, 2});
  const auto dropped = drop->forward(x);
  // Each sample is either all 0 or all 2 (kept and scaled by 1/(1-p)).
  const auto per_sample = dropped.flatten(1);
  EXPECT_TRUE(torch::equal(per_sample.amin(1), per_sample.amax(1)));
  EXPECT_TRUE(((per_sample.amin(1) == 0) | (per_sample.amin(1) == 2)).all().item<bool>());
  EXPECT_GT(per_sample.amin(1).sum().item<double>(), 0.0);
  drop->eval();
  EXPECT_TRUE(torch::equal(drop->forward(x), x));
}

TEST(VisionTransformer, LinearProbeHeadUsesTheReferenceNamesAndFreezesTheRest) {
  VisionTransformer model(tiny_vit(false));
  model->use_linear_probe_head();
  mae::models::freeze_all_but_head(*model);
  std::vector<std::string> head_names;
  for (const auto& [name, tensor] : mae::models::state_dict(*model)) {
    if (name.starts_with("head.")) {
      head_names.push_back(name);
    }
  }
  EXPECT_EQ(head_names, (std::vector<std::string>{"head.0.running_mean", "head.0.running_var",
                                                  "head.0.num_batches_tracked", "head.1.weight", "head.1.bias"}));
  for (const auto& item : model->named_parameters()) {
    EXPECT_EQ(item.value().requires_grad(), item.key().starts_with("head.")) << item.key();
  }
  // BatchNorm without affine, eps 1e-6, normalises the features before the Linear.
  model->train();
  const auto logits = model->forward(torch::randn({6, 3, 32, 32}));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{6, 5}));
  EXPECT_EQ(model->classifier()->weight.sizes(), (std::vector<int64_t>{5, 32}));
}

}  // namespace
