// --mask_strategy random|block|grid and --loss_on_visible (the paper's ablations, docs/ablations.md).
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "mae/models/mae.h"
#include "mae/models/masking.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::models::MaeOptions;
using mae::models::MaskedAutoencoderViT;
using mae::models::MaskStrategy;

// 14 x 14 patches, as ViT/16 at 224 px, on a model narrow enough to run instantly.
MaeOptions options_with(MaskStrategy strategy) {
  MaeOptions options{{56, 4, 3, 16, 1, 2, 2.0}, 8, 1, 2};
  options.mask_strategy = strategy;
  return options;
}

// Edges of the 4-neighbour grid with one end removed and the other kept: small when removed patches clump.
double mean_boundary_edges(const at::Tensor& mask, int64_t grid) {
  const auto board = mask.reshape({mask.size(0), grid, grid});
  const auto vertical = board.slice(1, 1).ne(board.slice(1, 0, grid - 1)).sum();
  const auto horizontal = board.slice(2, 1).ne(board.slice(2, 0, grid - 1)).sum();
  return (vertical + horizontal).item<double>() / static_cast<double>(mask.size(0));
}

class EveryMaskStrategy : public ::testing::TestWithParam<MaskStrategy> {};

TEST_P(EveryMaskStrategy, KeepsExactlyLenKeepAndHonoursTheRestoreContract) {
  MaskedAutoencoderViT model(options_with(GetParam()));
  torch::manual_seed(3);
  const auto imgs = torch::randn({8, 3, 56, 56});
  const auto encoded = model->forward_encoder(imgs, 0.75);
  const int64_t length = 196;
  const int64_t len_keep = 49;  // int(196 * 0.25)
  EXPECT_EQ(encoded.latent.sizes(), (std::vector<int64_t>{8, 1 + len_keep, 16}));
  EXPECT_EQ(encoded.mask.sizes(), (std::vector<int64_t>{8, length}));
  EXPECT_TRUE(torch::equal(encoded.mask.sum(1), torch::full({8}, static_cast<double>(length - len_keep))));
  // ids_restore is a permutation; the shuffled order puts the kept patches first: mask[ids_shuffle] = 0...0 1...1.
  const auto ids_shuffle = torch::argsort(encoded.ids_restore, int64_t{1});
  EXPECT_TRUE(torch::equal(std::get<0>(torch::sort(encoded.ids_restore, 1)), torch::arange(length).expand({8, length})));
  const auto shuffled_mask = encoded.mask.gather(1, ids_shuffle);
  EXPECT_TRUE(torch::equal(shuffled_mask.slice(1, 0, len_keep), torch::zeros({8, len_keep})));
  EXPECT_TRUE(torch::equal(shuffled_mask.slice(1, len_keep), torch::ones({8, length - len_keep})));
  // The whole forward pass (decoder, loss) accepts every strategy's masking.
  EXPECT_TRUE(torch::isfinite(model->forward(imgs, 0.75).loss).item<bool>());
}

TEST_P(EveryMaskStrategy, IsAFunctionOfTheSeed) {
  MaskedAutoencoderViT model(options_with(GetParam()));
  const auto imgs = torch::randn({4, 3, 56, 56});
  torch::manual_seed(11);
  const auto first = model->forward_encoder(imgs, 0.75).mask;
  torch::manual_seed(11);
  const auto again = model->forward_encoder(imgs, 0.75).mask;
  torch::manual_seed(12);
  const auto other = model->forward_encoder(imgs, 0.75).mask;
  EXPECT_TRUE(torch::equal(first, again));
  if (GetParam() == MaskStrategy::grid) {
    EXPECT_TRUE(torch::equal(first, other));  // the grid is fixed; only the order of the kept patches is drawn
  } else {
    EXPECT_FALSE(torch::equal(first, other));
  }
}

INSTANTIATE_TEST_SUITE_P(Strategies, EveryMaskStrategy,
                         ::testing::Values(MaskStrategy::random, MaskStrategy::block, MaskStrategy::grid));

TEST(MaskStrategy, GridKeepsTheTopLeftPatchOfEveryTwoByTwoSquare) {
  torch::manual_seed(0);
  const auto scores = mae::models::mask_scores(MaskStrategy::grid, 2, 6, 0.75, at::kCPU);
  const auto removed = scores.ge(1.0).to(torch::kFloat).reshape({2, 6, 6});
  const auto expected = torch::tensor({0, 1, 0, 1, 0, 1,  //
                                       1, 1, 1, 1, 1, 1,  //
                                       0, 1, 0, 1, 0, 1,  //
                                       1, 1, 1, 1, 1, 1,  //
                                       0, 1, 0, 1, 0, 1,  //
                                       1, 1, 1, 1, 1, 1},
                                      torch::kFloat)
                            .reshape({6, 6});
  EXPECT_TRUE(torch::equal(removed[0], expected));
  EXPECT_TRUE(torch::equal(removed[1], expected));
  // Through the model: exactly these patches are removed.
  MaskedAutoencoderViT model(MaeOptions{{24, 4, 3, 16, 1, 2, 2.0}, 8, 1, 2, false, MaskStrategy::grid});
  const auto mask = model->forward_encoder(torch::randn({3, 3, 24, 24}), 0.75).mask.reshape({3, 6, 6});
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(torch::equal(mask[i], expected));
  }
}

TEST(MaskStrategy, BlocksClumpWhereRandomMaskingScatters) {
  // At BEiT's ratio (40 % removed) random masking leaves ~175 removed/kept borders on a 14 x 14 grid
  // (364 edges * 2 * 0.4 * 0.6); blocks of >= 16 patches leave far fewer.
  torch::manual_seed(5);
  const auto random = mae::models::mask_scores(MaskStrategy::random, 32, 14, 0.4, at::kCPU);
  const auto block = mae::models::mask_scores(MaskStrategy::block, 32, 14, 0.4, at::kCPU);
  const auto removed_of = [](const at::Tensor& scores) {
    const auto order = torch::argsort(scores, int64_t{1});
    auto mask = torch::ones_like(scores);
    mask.slice(1, 0, mae::models::visible_patch_count(196, 0.4)).zero_();
    return mask.gather(1, torch::argsort(order, int64_t{1}));
  };
  const double random_edges = mean_boundary_edges(removed_of(random), 14);
  const double block_edges = mean_boundary_edges(removed_of(block), 14);
  EXPECT_NEAR(random_edges, 175.0, 20.0);
  EXPECT_LT(block_edges, 0.5 * random_edges) << "block " << block_edges << " random " << random_edges;
}

TEST(MaskStrategy, NamesAndTheirLimits) {
  EXPECT_EQ(mae::models::parse_mask_strategy("block"), MaskStrategy::block);
  EXPECT_THROW(mae::models::parse_mask_strategy("blocks"), mae::UsageError);
  // A grid of 7 x 7 patches has no 2 x 2 tiling.
  MaeOptions odd{{28, 4, 3, 16, 1, 2, 2.0}, 8, 1, 2, false, MaskStrategy::grid};
  const std::string error = mae::test::error_of<mae::UsageError>([&] { MaskedAutoencoderViT model(odd); });
  EXPECT_NE(error.find("even number of patches per side"), std::string::npos) << error;
}

TEST(LossOnVisible, DefaultAveragesRemovedPatchesOnlyAndTheAblationAveragesAll) {
  torch::manual_seed(4);
  MaeOptions options = options_with(MaskStrategy::random);
  MaskedAutoencoderViT reference_loss(options);
  options.loss_on_visible = true;
  MaskedAutoencoderViT all_patches(options);
  const auto imgs = torch::randn({2, 3, 56, 56});
  const auto mask = torch::rand({2, 196}).lt(0.75).to(torch::kFloat);
  // Perfect on the visible patches, wrong on the removed ones.
  const auto pred = reference_loss->patchify(imgs) + torch::randn({2, 196, 48}) * mask.unsqueeze(-1);
  const auto per_patch = (pred - reference_loss->patchify(imgs)).pow(2).mean(-1);
  const double removed_only = ((per_patch * mask).sum() / mask.sum()).item<double>();
  const double everywhere = per_patch.mean().item<double>();
  EXPECT_NEAR(reference_loss->forward_loss(imgs, pred, mask).item<double>(), removed_only, 1e-6);
  EXPECT_NEAR(all_patches->forward_loss(imgs, pred, mask).item<double>(), everywhere, 1e-6);
  EXPECT_LT(everywhere, 0.9 * removed_only);  // the visible patches' zero errors dilute the ablation's average
}

// The training step's loss-only path draws the same masking scores and computes the same loss as forward().
TEST(TrainingLoss, EqualsTheFullForwardsLossForEveryMaskStrategyAndTheVisibleLossAblation) {
  const auto imgs = torch::randn({2, 3, 56, 56});
  for (const auto strategy : {MaskStrategy::random, MaskStrategy::block, MaskStrategy::grid}) {
    for (const bool loss_on_visible : {false, true}) {
      MaeOptions options = options_with(strategy);
      options.loss_on_visible = loss_on_visible;
      MaskedAutoencoderViT model(options);
      torch::manual_seed(11);
      const double full = model->forward(imgs, 0.75).loss.item<double>();
      torch::manual_seed(11);
      const double training = model->training_loss(imgs, 0.75).item<double>();
      EXPECT_NEAR(training, full, 1e-5 * full) << mae::models::to_string(strategy) << " visible " << loss_on_visible;
    }
  }
}

}  // namespace
