// MaskedAutoencoderViT::training_loss (src/models/mae_training_loss.cpp), the training step's loss-only path, against
// forward(), the twin of models_mae.py: the same loss and the same gradient for every parameter, under bf16 autocast
// and in fp32; and the construction-time check of the invariants the fast path relies on.
// Elsewhere: the fp32 norm_pix_loss case against the Python reference's loss and gradients is
// MaeParity.TrainingLossAndItsGradientsMatchTheReference (mae_test.cpp); equality of the loss for every mask strategy
// and with loss_on_visible is TrainingLoss.EqualsTheFullForwardsLossForEveryMaskStrategyAndTheVisibleLossAblation
// (masking_test.cpp).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "fixtures.h"
#include "mae/models/autocast_scope.h"
#include "mae/models/mae.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::models::BlockImpl;
using mae::models::MaeOptions;
using mae::models::MaskedAutoencoderViT;
using mae::test::matches_reference;

// The tiny test architecture of mae_test.cpp (32 px images in 8 px patches: 16 patches; width 32, depth 2, 4 heads)
// with a 3-block decoder (width 16, 2 heads), so that all three kinds of decoder block in training_loss run: the
// first with the shared mask-token rows, a middle one in full, the last on the removed patches' rows only.
MaeOptions tiny_options(bool norm_pix_loss) {
  MaeOptions options{{32, 8, 3, 32, 2, 4, 4.0}, 16, 3, 2};
  options.norm_pix_loss = norm_pix_loss;
  return options;
}

constexpr int64_t kBatch = 4;
constexpr int64_t kPatches = 16;
constexpr double kMaskRatio = 0.75;

struct LossAndGradients {
  at::Tensor loss;
  std::vector<std::pair<std::string, at::Tensor>> gradients;  // every trainable parameter's, in registration order
};

// The loss that `compute` returns, run under bf16 autocast on the CPU when `bf16` is set (the training step wraps its
// forward so), and the gradients of its backward, which runs outside autocast, as in the training step.
LossAndGradients loss_and_gradients(MaskedAutoencoderViT& model, bool bf16,
                                    const std::function<at::Tensor()>& compute) {
  model->zero_grad();
  at::Tensor loss;
  {
    const mae::models::AutocastScope autocast(c10::DeviceType::CPU, torch::kBFloat16, /*enabled=*/bf16);
    loss = compute();
  }
  loss.backward();
  LossAndGradients result{loss.detach(), {}};
  for (const auto& parameter : model->named_parameters()) {
    if (parameter.value().requires_grad()) {
      const at::Tensor grad = parameter.value().grad();
      result.gradients.emplace_back(parameter.key(), grad.defined() ? grad.clone() : at::Tensor());
    }
  }
  return result;
}

// The loss within loss_tolerance * max(1, |reference loss|) (the losses here are about 1 or more, so this is
// relative), and each gradient within gradient_tolerance of the reference relative to the largest entry of that
// reference gradient: gradients span orders of magnitude across parameters (decoder_pred's against the patch
// embedding's), so each is compared on its own scale.
void expect_same_loss_and_gradients(const LossAndGradients& fast, const LossAndGradients& reference,
                                    double loss_tolerance, double gradient_tolerance, const std::string& what) {
  EXPECT_TRUE(matches_reference(fast.loss, reference.loss, what + " training_loss", loss_tolerance));
  ASSERT_EQ(fast.gradients.size(), reference.gradients.size());
  ASSERT_FALSE(reference.gradients.empty());
  for (std::size_t i = 0; i < reference.gradients.size(); ++i) {
    const std::string& name = reference.gradients[i].first;
    const at::Tensor& expected = reference.gradients[i].second;
    const at::Tensor& actual = fast.gradients[i].second;
    ASSERT_EQ(fast.gradients[i].first, name);
    ASSERT_TRUE(expected.defined()) << what << ": forward() gave " << name << " no gradient";
    ASSERT_TRUE(actual.defined()) << what << ": training_loss gave " << name << " no gradient";
    const double scale = std::max(expected.abs().max().item<double>(), 1e-30);
    EXPECT_TRUE(matches_reference(actual / scale, expected / scale, what + " grad " + name + " / max |grad|",
                                  gradient_tolerance));
  }
}

// bf16 keeps 8 significant bits: one rounding is off by up to 2^-8 ~ 3.9e-3 of the value. The two paths run the same
// bf16 matrix products on the same values but grouped differently (the patch projection as a convolution or as one
// product per kept patch, the mask tokens' qkv once per position or once per sample, attention sums over tokens in
// another order, rows left out), so a bf16 result may round to the neighbouring value (up to ~8e-3) and such
// differences travel through the decoder's 3 and the encoder's 2 blocks. No figure is measured here; the tolerances
// are chosen from that arithmetic, for CPUs (where CI runs):
//   - loss, 1e-2 relative: the loss is an fp32 mean over 48 patches x 192 values of squared errors whose
//     independent bf16 differences average out; 1e-2 is already more than one bf16 rounding of the loss itself;
//   - gradients, 5e-2 of each gradient's largest entry: about 6 bf16 roundings of that entry, room for the backward
//     pass's chain of bf16 products (loss -> decoder -> encoder -> patch embedding) each rounding a little
//     differently; a wrong row, position or mask token is off by O(1) and still fails.
constexpr double kBf16LossTolerance = 1e-2;
constexpr double kBf16GradientTolerance = 5e-2;

TEST(TrainingLoss, LossAndEveryGradientMatchForwardUnderBf16Autocast) {
  for (const bool norm_pix_loss : {false, true}) {
    const std::string what = norm_pix_loss ? "bf16 norm_pix_loss" : "bf16";
    torch::manual_seed(21);
    MaskedAutoencoderViT model(tiny_options(norm_pix_loss));
    const auto imgs = torch::randn({kBatch, 3, 32, 32});
    const auto noise = torch::rand({kBatch, kPatches});
    c10::ScalarType pred_type = torch::kFloat;
    const auto reference = loss_and_gradients(model, /*bf16=*/true, [&] {
      const auto out = model->forward(imgs, kMaskRatio, noise);
      pred_type = out.pred.scalar_type();
      return out.loss;
    });
    const auto fast =
        loss_and_gradients(model, /*bf16=*/true, [&] { return model->training_loss(imgs, kMaskRatio, noise); });
    EXPECT_EQ(pred_type, torch::kBFloat16) << what << ": autocast did not run the decoder in bf16";
    EXPECT_EQ(fast.loss.scalar_type(), torch::kFloat) << what << ": the loss is reduced in fp32, as forward()'s";
    expect_same_loss_and_gradients(fast, reference, kBf16LossTolerance, kBf16GradientTolerance, what);
  }
}

// fp32 rounds at 2^-24 ~ 6e-8; the two paths differ only in how their fp32 sums are grouped (see above). 1e-5 of the
// loss and of each gradient's largest entry (~170 roundings) is the parity rule that training_loss already meets
// against the Python reference's gradients with norm_pix_loss (MaeParity), where the kernels differ too; a wrong
// row, position or mask token is off by O(1).
TEST(TrainingLoss, LossAndEveryGradientMatchForwardInFloat32WithoutNormPixLoss) {
  torch::manual_seed(22);
  MaskedAutoencoderViT model(tiny_options(/*norm_pix_loss=*/false));
  const auto imgs = torch::randn({kBatch, 3, 32, 32});
  const auto noise = torch::rand({kBatch, kPatches});
  const auto reference =
      loss_and_gradients(model, /*bf16=*/false, [&] { return model->forward(imgs, kMaskRatio, noise).loss; });
  const auto fast =
      loss_and_gradients(model, /*bf16=*/false, [&] { return model->training_loss(imgs, kMaskRatio, noise); });
  expect_same_loss_and_gradients(fast, reference, 1e-5, 1e-5, "fp32");
}

// MaeOptions offers no decoder drop path and no way to make decoder tokens depend on more than their position, so
// every model built from options passes the check (the constructor runs it); the violations are made by editing a
// built model's members, and check_training_loss_invariants() is called directly.
std::string invariant_error(MaskedAutoencoderViT& model) {
  return mae::test::error_of([&] { model->check_training_loss_invariants(); });
}

void expect_mentions(const std::string& error, const std::vector<std::string>& parts) {
  for (const auto& part : parts) {
    EXPECT_NE(error.find(part), std::string::npos) << "expected \"" << part << "\" in: " << error;
  }
}

TEST(TrainingLossInvariants, ModelsBuiltFromOptionsPass) {
  MaskedAutoencoderViT model(tiny_options(/*norm_pix_loss=*/true));
  EXPECT_NO_THROW(model->check_training_loss_invariants());
}

TEST(TrainingLossInvariants, DropPathInTheDecoderIsRejected) {
  MaskedAutoencoderViT model(tiny_options(/*norm_pix_loss=*/false));
  model->decoder_blocks[2]->as<BlockImpl>()->drop_path->drop_prob = 0.1;
  expect_mentions(invariant_error(model), {"training_loss", "no drop path in the decoder", "decoder_blocks.2"});
}

TEST(TrainingLossInvariants, DecoderTokensThatDependOnTheSampleAreRejected) {
  MaskedAutoencoderViT model(tiny_options(/*norm_pix_loss=*/false));
  const at::Tensor mask_token = model->mask_token;
  model->mask_token = torch::zeros({kBatch, 1, 16});  // a mask token per sample
  expect_mentions(invariant_error(model), {"depend on position only", "mask_token has shape [4, 1, 16]"});
  model->mask_token = mask_token;
  model->decoder_pos_embed = torch::zeros({kBatch, kPatches + 1, 16});  // a position table per sample
  expect_mentions(invariant_error(model), {"depend on position only", "decoder_pos_embed has shape [4, 17, 16]"});
}

TEST(TrainingLossInvariants, ADecoderWithoutTransformerBlocksIsRejected) {
  MaskedAutoencoderViT model(tiny_options(/*norm_pix_loss=*/false));
  model->decoder_blocks = torch::nn::ModuleList();
  expect_mentions(invariant_error(model), {"at least one decoder block", "decoder_blocks is empty"});
  torch::nn::ModuleList not_blocks;
  not_blocks->push_back(torch::nn::Linear(16, 16));
  model->decoder_blocks = not_blocks;
  expect_mentions(invariant_error(model), {"transformer Blocks", "decoder_blocks.0 is a"});
}

}  // namespace
