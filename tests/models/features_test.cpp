// The pooled features of mae_extract and the kNN monitor: equal to the models' own forward_features and to the
// MAE encoder's latent with nothing masked.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "mae/models/features.h"
#include "mae/models/mae.h"
#include "mae/models/state_dict.h"
#include "support/test_support.h"

namespace {

using mae::models::FeaturePool;

mae::models::EncoderOptions tiny_encoder() { return {32, 8, 3, 32, 2, 4, 4.0}; }

mae::models::VisionTransformer tiny_vit(bool global_pool) {
  mae::models::VitOptions options;
  options.encoder = tiny_encoder();
  options.num_classes = 5;
  options.global_pool = global_pool;
  mae::models::VisionTransformer model(options);
  model->eval();
  return model;
}

TEST(PooledFeatures, EqualForwardFeaturesOfEachClassifierKind) {
  torch::manual_seed(0);
  const torch::NoGradGuard no_grad;
  const auto imgs = torch::randn({3, 3, 32, 32});
  auto cls_model = tiny_vit(false);
  EXPECT_TRUE(torch::equal(mae::models::pooled_features(*cls_model, imgs, FeaturePool::cls),
                           cls_model->forward_features(imgs)));
  auto pooled_model = tiny_vit(true);
  EXPECT_TRUE(torch::equal(mae::models::pooled_features(*pooled_model, imgs, FeaturePool::mean),
                           pooled_model->forward_features(imgs)));
  const std::string message =
      mae::test::error_of<mae::UsageError>([&] { mae::models::pooled_features(*pooled_model, imgs, FeaturePool::cls); });
  EXPECT_NE(message.find("--pool mean"), std::string::npos) << message;
}

TEST(PooledFeatures, EqualTheMaeEncodersLatentWithNothingMasked) {
  torch::manual_seed(1);
  const torch::NoGradGuard no_grad;
  mae::models::MaeOptions options;
  options.encoder = tiny_encoder();
  options.decoder_embed_dim = 16;
  options.decoder_depth = 1;
  options.decoder_num_heads = 2;
  mae::models::MaskedAutoencoderViT mae(options);
  mae->eval();
  auto encoder = tiny_vit(false);
  auto weights = mae::models::state_dict(*mae);
  std::erase_if(weights, [](const auto& entry) {
    return entry.first.starts_with("decoder_") || entry.first == "mask_token";
  });
  const auto report = mae::models::load_state_dict(*encoder, weights, /*strict=*/false);
  EXPECT_EQ(report.missing_keys, (std::vector<std::string>{"head.weight", "head.bias"}));

  const auto imgs = torch::randn({2, 3, 32, 32});
  // Increasing noise keeps every patch in its own place (ids_shuffle is the identity).
  const auto noise = torch::arange(16, torch::kFloat).expand({2, 16}).contiguous();
  const auto latent = mae->forward_encoder(imgs, 0.0, noise).latent;
  ASSERT_EQ(latent.size(1), 17);
  EXPECT_TRUE(torch::allclose(mae::models::pooled_features(*encoder, imgs, FeaturePool::cls), latent.select(1, 0),
                              1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(mae::models::pooled_features(*encoder, imgs, FeaturePool::mean),
                              latent.slice(1, 1).mean(1), 1e-6, 1e-6));
}

TEST(PooledFeatures, PoolNamesAreCheckedWhenParsed) {
  EXPECT_EQ(mae::models::parse_feature_pool("cls"), FeaturePool::cls);
  EXPECT_EQ(mae::models::parse_feature_pool("mean"), FeaturePool::mean);
  const std::string message = mae::test::error_of<mae::UsageError>([] { mae::models::parse_feature_pool("avg"); });
  EXPECT_NE(message.find("'avg'"), std::string::npos) << message;
}

}  // namespace
