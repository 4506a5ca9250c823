#include <gtest/gtest.h>

#include <torch/torch.h>

#include "fixtures.h"
#include "mae/models/autocast_scope.h"
#include "mae/models/mae.h"
#include "mae/models/pos_embed.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::models::MaeOptions;
using mae::models::MaskedAutoencoderViT;
using mae::test::matches_reference;

MaeOptions options_of(const c10::impl::GenericDict& fixture) {
  MaeOptions options;
  options.encoder = {mae::test::config_int(fixture, "img_size"),  mae::test::config_int(fixture, "patch_size"),
                     mae::test::config_int(fixture, "in_chans"),  mae::test::config_int(fixture, "embed_dim"),
                     mae::test::config_int(fixture, "depth"),     mae::test::config_int(fixture, "num_heads"),
                     4.0};
  options.decoder_embed_dim = mae::test::config_int(fixture, "decoder_embed_dim");
  options.decoder_depth = mae::test::config_int(fixture, "decoder_depth");
  options.decoder_num_heads = mae::test::config_int(fixture, "decoder_num_heads");
  return options;
}

// The reference model's weights loaded into ours.
MaskedAutoencoderViT model_from(const c10::impl::GenericDict& fixture, bool norm_pix_loss) {
  MaeOptions options = options_of(fixture);
  options.norm_pix_loss = norm_pix_loss;
  MaskedAutoencoderViT model(options);
  mae::models::load_state_dict(*model, mae::test::named_tensors(fixture.at("model")), /*strict=*/true);
  model->eval();
  return model;
}

class MaeParity : public ::testing::TestWithParam<std::string> {};

TEST_P(MaeParity, LossPredMaskAndLatentMatchTheReference) {
  const auto fixture = mae::test::load_model_fixture(GetParam());
  const double mask_ratio = fixture.at("config").toGenericDict().at("mask_ratio").toDouble();
  const auto imgs = fixture.at("imgs").toTensor();
  const auto noise = fixture.at("noise").toTensor();
  torch::NoGradGuard no_grad;
  for (const bool norm_pix : {false, true}) {
    auto model = model_from(fixture, norm_pix);
    const std::string suffix = norm_pix ? "_norm_pix" : "";
    const auto out = model->forward(imgs, mask_ratio, noise);
    EXPECT_TRUE(matches_reference(out.loss, fixture.at("loss" + suffix).toTensor(), GetParam() + " loss" + suffix));
    EXPECT_TRUE(matches_reference(out.pred, fixture.at("pred" + suffix).toTensor(), GetParam() + " pred" + suffix));
    EXPECT_TRUE(torch::equal(out.mask, fixture.at("mask").toTensor()));
    const auto encoded = model->forward_encoder(imgs, mask_ratio, noise);
    EXPECT_TRUE(matches_reference(encoded.latent, fixture.at("latent").toTensor(), GetParam() + " latent"));
    EXPECT_TRUE(matches_reference(model->unpatchify(fixture.at("pred").toTensor()),
                                  fixture.at("unpatchified").toTensor(), GetParam() + " unpatchify", 0.0));
  }
}

// The training step's loss-only path (shuffled decoder order, last decoder block and head on the removed patches
// only, kept patches embedded alone) against the reference's forward and backward: same loss, same gradients.
TEST_P(MaeParity, TrainingLossAndItsGradientsMatchTheReference) {
  const auto fixture = mae::test::load_model_fixture(GetParam());
  const double mask_ratio = fixture.at("config").toGenericDict().at("mask_ratio").toDouble();
  auto model = model_from(fixture, /*norm_pix_loss=*/true);
  const auto loss = model->training_loss(fixture.at("imgs").toTensor(), mask_ratio, fixture.at("noise").toTensor());
  EXPECT_TRUE(matches_reference(loss, fixture.at("loss_norm_pix").toTensor(), GetParam() + " training loss"));
  loss.backward();
  const auto expected = fixture.at("grads_norm_pix").toGenericDict();
  int64_t compared = 0;
  for (const auto& parameter : model->named_parameters()) {
    if (!parameter.value().requires_grad()) {
      continue;
    }
    ASSERT_TRUE(parameter.value().grad().defined()) << parameter.key() << " got no gradient";
    // Gradients are as small as 3e-4 here, so each is compared relative to its own largest entry.
    const at::Tensor reference = expected.at(parameter.key()).toTensor();
    const double scale = reference.abs().max().item<double>();
    EXPECT_TRUE(matches_reference(parameter.value().grad() / scale, reference / scale,
                                  GetParam() + " grad " + parameter.key() + " / max |grad|", 1e-5));
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int64_t>(expected.size()));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, MaeParity, ::testing::Values("mae_tiny", "mae_gray28"));

MaeOptions tiny_options() {
  return {{32, 8, 3, 32, 2, 4, 4.0}, 16, 1, 2};  // encoder, decoder width/depth/heads
}

TEST(MaskedAutoencoder, RandomMaskingKeepsTheSmallestNoise) {
  torch::manual_seed(0);
  MaskedAutoencoderViT model(tiny_options());
  const auto x = torch::randn({3, 16, 32});
  const auto noise = torch::rand({3, 16});
  const auto masking = model->random_masking(x, 0.75, noise);
  EXPECT_EQ(masking.kept.sizes(), (std::vector<int64_t>{3, 4, 32}));
  EXPECT_TRUE(torch::equal(masking.mask.sum(1), torch::full({3}, 12.0)));
  // ids_restore inverts the shuffle, and the kept tokens are those with the 4 smallest noise values.
  const auto kept_ids = torch::argsort(noise, int64_t{1}).slice(1, 0, 4);
  EXPECT_TRUE(torch::equal(masking.kept, torch::gather(x, 1, kept_ids.unsqueeze(-1).expand({-1, -1, 32}))));
  EXPECT_TRUE(torch::equal(masking.mask.gather(1, kept_ids), torch::zeros({3, 4})));
  EXPECT_TRUE(torch::equal(torch::argsort(noise, int64_t{1}).gather(1, masking.ids_restore),
                           torch::arange(16).expand({3, 16})));
}

TEST(MaskedAutoencoder, LossCountsMaskedPatchesOnly) {
  torch::manual_seed(1);
  MaskedAutoencoderViT model(tiny_options());
  const auto imgs = torch::randn({2, 3, 32, 32});
  const auto target = model->patchify(imgs);
  auto mask = torch::zeros({2, 16});
  mask.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, 4)}, 1.0);
  // A perfect prediction on the masked patches and garbage on the visible ones: zero loss.
  auto pred = target.clone();
  pred.index_put_({torch::indexing::Slice(), torch::indexing::Slice(4, 16)}, 100.0);
  EXPECT_FLOAT_EQ(model->forward_loss(imgs, pred, mask).item<float>(), 0.0F);
  EXPECT_GT(model->forward_loss(imgs, pred, 1 - mask).item<float>(), 1.0F);
}

TEST(MaskedAutoencoder, PatchifyRoundTripsAndOrdersPixelsRowColumnChannel) {
  MaskedAutoencoderViT model(tiny_options());
  const auto imgs = torch::arange(2 * 3 * 32 * 32, torch::kFloat).reshape({2, 3, 32, 32});
  const auto patches = model->patchify(imgs);
  EXPECT_EQ(patches.sizes(), (std::vector<int64_t>{2, 16, 192}));
  EXPECT_TRUE(torch::equal(model->unpatchify(patches), imgs));
  // Patch 1 is row 0, column 1; its element 1 is pixel (0, 0) of channel 1; element 3 is pixel (0, 1) of channel 0.
  EXPECT_EQ(patches[0][1][1].item<float>(), imgs[0][1][0][8].item<float>());
  EXPECT_EQ(patches[0][1][3].item<float>(), imgs[0][0][0][9].item<float>());
}

TEST(MaskedAutoencoder, InitialisationFollowsTheReference) {
  torch::manual_seed(2);
  MaeOptions options = tiny_options();
  options.encoder.embed_dim = 64;
  MaskedAutoencoderViT model(options);
  // Fixed sin-cos tables are parameters without gradients, so they are in the state dict.
  EXPECT_FALSE(model->pos_embed.requires_grad());
  EXPECT_FALSE(model->decoder_pos_embed.requires_grad());
  EXPECT_TRUE(torch::allclose(model->pos_embed[0],
                              mae::models::get_2d_sincos_pos_embed(64, 4, true).to(torch::kFloat)));
  // xavier_uniform bound sqrt(6 / (fan_in + fan_out)): the fused qkv is one [3D, D] matrix.
  const double qkv_bound = std::sqrt(6.0 / (64 + 192));
  const auto qkv = model->blocks[0]->as<mae::models::BlockImpl>()->attn->qkv;
  EXPECT_LE(qkv->weight.abs().max().item<double>(), qkv_bound);
  EXPECT_GT(qkv->weight.abs().max().item<double>(), 0.95 * qkv_bound);
  EXPECT_TRUE(torch::equal(qkv->bias, torch::zeros({192})));
  // The patch projection is xavier over its [D, C*p*p] view.
  const double patch_bound = std::sqrt(6.0 / (64 + 3 * 8 * 8));
  EXPECT_LE(model->patch_embed->proj->weight.abs().max().item<double>(), patch_bound);
  EXPECT_GT(model->patch_embed->proj->weight.abs().max().item<double>(), 0.95 * patch_bound);
  EXPECT_NEAR(model->cls_token.std().item<double>(), 0.02, 0.012);
  EXPECT_TRUE(torch::equal(model->norm->weight, torch::ones({64})));
}

TEST(MaskedAutoencoder, WrongImageSizeNamesBothSizes) {
  MaskedAutoencoderViT model(tiny_options());
  for (const auto& shape : {std::vector<int64_t>{1, 3, 64, 64}, std::vector<int64_t>{1, 1, 32, 32}}) {
    const auto imgs = torch::zeros(shape);
    for (const auto& error : {mae::test::error_of([&] { model->forward(imgs); }),
                              mae::test::error_of([&] { model->training_loss(imgs); })}) {
      EXPECT_NE(error.find("expected [N, 3, 32, 32]"), std::string::npos) << error;
    }
  }
}

TEST(MaskedAutoencoder, Bf16AutocastLossStaysCloseToFloat32) {
  // bf16 keeps 8 mantissa bits (relative rounding ~4e-3 per op); 2e-2 relative on the loss leaves room for a few
  // layers of it while still catching a loss reduced in bf16 or a mask computed from rounded noise.
  torch::manual_seed(3);
  MaeOptions options = tiny_options();
  options.norm_pix_loss = true;
  MaskedAutoencoderViT model(options);
  model->eval();
  const auto imgs = torch::randn({4, 3, 32, 32});
  const auto noise = torch::rand({4, 16});
  torch::NoGradGuard no_grad;
  const auto fp32 = model->forward(imgs, 0.75, noise);
  mae::models::AutocastScope autocast(c10::DeviceType::CPU, torch::kBFloat16);
  const auto bf16 = model->forward(imgs, 0.75, noise);
  EXPECT_EQ(bf16.pred.scalar_type(), torch::kBFloat16);  // the decoder's Linear ran in bf16
  EXPECT_EQ(bf16.loss.scalar_type(), torch::kFloat);      // the loss is reduced in fp32, as in the reference
  const double relative = std::abs(bf16.loss.item<double>() - fp32.loss.item<double>()) / fp32.loss.item<double>();
  std::cout << "[parity] bf16 autocast loss relative error " << relative << '\n';
  EXPECT_LT(relative, 2e-2);
  EXPECT_TRUE(torch::equal(bf16.mask, fp32.mask));
}

}  // namespace
