#include <gtest/gtest.h>

#include <torch/torch.h>

#include "mae/engine/grad_scaler.h"
#include "mae/engine/lr_schedule.h"
#include "mae/engine/optimizer.h"
#include "mae/engine/param_groups.h"
#include "mae/models/mae.h"
#include "mae/models/vit.h"
#include "mae/util/error.h"

namespace {

using namespace mae::engine;

TEST(LrSchedule, WarmupThenHalfCosine) {
  const LrSchedule schedule{1e-3, 1e-5, 5.0, 45.0};
  EXPECT_DOUBLE_EQ(schedule.at(0.0), 0.0);
  EXPECT_DOUBLE_EQ(schedule.at(2.5), 5e-4);
  EXPECT_DOUBLE_EQ(schedule.at(5.0), 1e-3);
  EXPECT_NEAR(schedule.at(25.0), 1e-5 + (1e-3 - 1e-5) * 0.5, 1e-15);  // half-way down the cosine
  EXPECT_NEAR(schedule.at(45.0), 1e-5, 1e-15);
  EXPECT_DOUBLE_EQ(absolute_lr(std::nullopt, 1.5e-4, 4096), 2.4e-3);  // PRETRAIN.md's recipe
  EXPECT_DOUBLE_EQ(absolute_lr(0.1, 1.5e-4, 4096), 0.1);
}

mae::models::MaeOptions tiny_mae() {
  return {{16, 8, 3, 16, 2, 2, 4.0}, 8, 1, 2};  // encoder, decoder width/depth/heads
}

TEST(ParamGroups, PretrainDecaysMatricesAndTokensOnly) {
  mae::models::MaskedAutoencoderViT model(tiny_mae());
  const auto groups = weight_decay_groups(*model, 0.05);
  ASSERT_EQ(groups.size(), 2u);
  const auto& no_decay = groups[0].names;
  const auto& decay = groups[1].names;
  EXPECT_DOUBLE_EQ(groups[0].weight_decay, 0.0);
  EXPECT_DOUBLE_EQ(groups[1].weight_decay, 0.05);
  auto has = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  EXPECT_TRUE(has(decay, "cls_token"));   // quirk Q3, mirrored
  EXPECT_TRUE(has(decay, "mask_token"));
  EXPECT_TRUE(has(decay, "blocks.0.attn.qkv.weight"));
  EXPECT_TRUE(has(decay, "patch_embed.proj.weight"));
  EXPECT_TRUE(has(no_decay, "blocks.0.attn.qkv.bias"));
  EXPECT_TRUE(has(no_decay, "norm.weight"));
  EXPECT_FALSE(has(decay, "pos_embed") || has(no_decay, "pos_embed"));  // frozen
}

TEST(ParamGroups, LayerDecayFollowsLrDecayPy) {
  mae::models::VitOptions options;
  options.encoder = {16, 8, 3, 16, 2, 2, 4.0};
  options.num_classes = 3;
  mae::models::VisionTransformer model(options);
  const auto groups = layer_decay_groups(*model, 2, 0.05, 0.75);
  std::map<std::string, std::pair<double, double>> by_name;  // group -> (lr_scale, weight_decay)
  for (const auto& group : groups) {
    by_name[group.name] = {group.lr_scale, group.weight_decay};
  }
  // num_layers = 3: scale = 0.75^(3 - id)
  EXPECT_DOUBLE_EQ(by_name.at("layer_0_no_decay").first, 0.75 * 0.75 * 0.75);  // cls_token, pos_embed, biases
  EXPECT_DOUBLE_EQ(by_name.at("layer_0_decay").first, 0.75 * 0.75 * 0.75);     // patch_embed.proj.weight
  EXPECT_DOUBLE_EQ(by_name.at("layer_1_decay").first, 0.75 * 0.75);            // blocks.0
  EXPECT_DOUBLE_EQ(by_name.at("layer_2_decay").first, 0.75);                   // blocks.1
  EXPECT_DOUBLE_EQ(by_name.at("layer_3_decay").first, 1.0);                    // head
  EXPECT_DOUBLE_EQ(by_name.at("layer_0_no_decay").second, 0.0);
  EXPECT_DOUBLE_EQ(by_name.at("layer_3_decay").second, 0.05);
  EXPECT_EQ(groups.front().name, "layer_0_no_decay");  // first parameter: cls_token
  EXPECT_EQ(groups.front().names.front(), "cls_token");
}

TEST(PartialFinetune, OnlyTheLastBlocksTheNormAndTheHeadGetGradientsAndOptimizerState) {
  mae::models::VitOptions options;
  options.encoder = {16, 8, 3, 16, 4, 2, 4.0};
  options.num_classes = 3;
  mae::models::VisionTransformer model(options);
  mae::models::freeze_all_but_last_blocks(*model, 2);
  std::vector<std::string> trainable;
  for (const auto& item : model->named_parameters()) {
    if (item.value().requires_grad()) {
      trainable.push_back(item.key());
    }
  }
  for (const auto& name : trainable) {
    EXPECT_TRUE(name.starts_with("blocks.2.") || name.starts_with("blocks.3.") || name.starts_with("fc_norm.") ||
                name.starts_with("head."))
        << name;
  }
  EXPECT_EQ(trainable.size(), 2 * 12 + 4u);  // 12 tensors per block, fc_norm and head 2 each
  // Layer decay groups hold exactly the trainable parameters, with the scales of their layers (num_layers = 5).
  const auto groups = layer_decay_groups(*model, 4, 0.05, 0.75);
  std::size_t grouped = 0;
  for (const auto& group : groups) {
    grouped += group.params.size();
    EXPECT_TRUE(group.name.starts_with("layer_3_") || group.name.starts_with("layer_4_") ||
                group.name.starts_with("layer_5_"))
        << group.name;
  }
  EXPECT_EQ(grouped, trainable.size());
  AdamW optimizer(groups, 1e-3);
  model->forward(torch::randn({2, 3, 16, 16})).sum().backward();
  optimizer.step();
  for (const auto& item : model->named_parameters()) {
    EXPECT_EQ(item.value().grad().defined(), item.value().requires_grad()) << item.key();
  }
  EXPECT_EQ(optimizer.state_dict().toGenericDict().at("state").toGenericDict().size(), trainable.size());
  // 0 blocks: the fine-tuning recipe as a linear probe; more blocks than the model has is an error.
  mae::models::freeze_all_but_last_blocks(*model, 0);
  for (const auto& item : model->named_parameters()) {
    EXPECT_EQ(item.value().requires_grad(), item.key().starts_with("fc_norm.") || item.key().starts_with("head."))
        << item.key();
  }
  EXPECT_THROW(mae::models::freeze_all_but_last_blocks(*model, 5), mae::UsageError);
}

TEST(FusedAdamW, EqualsThePlainUpdate) {
  torch::manual_seed(0);
  auto make = [] {
    torch::manual_seed(1);
    return std::vector<at::Tensor>{torch::randn({4, 3}).requires_grad_(), torch::randn({3}).requires_grad_()};
  };
  auto fused_params = make();
  auto plain_params = make();
  ParamGroup decay{"decay", {"w"}, {fused_params[0]}, 0.05};
  ParamGroup no_decay{"no_decay", {"b"}, {fused_params[1]}, 0.0};
  AdamW fused({no_decay, decay}, 1e-2, {0.9, 0.95});
  torch::optim::AdamW plain_w({plain_params[0]}, torch::optim::AdamWOptions(1e-2).betas({0.9, 0.95}).weight_decay(0.05));
  torch::optim::AdamW plain_b({plain_params[1]}, torch::optim::AdamWOptions(1e-2).betas({0.9, 0.95}).weight_decay(0.0));
  for (int step = 0; step < 5; ++step) {
    const auto input = torch::randn({2, 4});
    for (auto* params : {&fused_params, &plain_params}) {
      const auto loss = (input.matmul((*params)[0]) + (*params)[1]).pow(2).sum();
      loss.backward();
    }
    fused.step();
    plain_w.step();
    plain_b.step();
    fused.zero_grad();
    plain_w.zero_grad();
    plain_b.zero_grad();
  }
  EXPECT_TRUE(torch::allclose(fused_params[0], plain_params[0], 1e-6, 1e-7)) << fused_params[0] - plain_params[0];
  EXPECT_TRUE(torch::allclose(fused_params[1], plain_params[1], 1e-6, 1e-7));
  const auto state = fused.state_dict().toGenericDict();
  EXPECT_EQ(state.at("state").toGenericDict().at(int64_t{1}).toGenericDict().at("step").toTensor().item<float>(), 5.0F);
}

TEST(Lars, MatchesHandComputedSteps) {
  at::Tensor weight = torch::tensor({{3.0, 4.0}});  // |w| = 5
  at::Tensor bias = torch::tensor({1.0});
  weight.set_requires_grad(true);
  bias.set_requires_grad(true);
  ParamGroup group{"head", {"w", "b"}, {weight, bias}, 0.5};
  Lars lars({group}, 0.1);
  weight.mutable_grad() = torch::tensor({{0.0, 2.0}});
  bias.mutable_grad() = torch::tensor({0.5});
  lars.step();
  // dp = g + 0.5 w = (1.5, 4); |dp| = sqrt(2.25 + 16); q = 0.001 * 5 / |dp|; mu = q * dp; w -= 0.1 mu
  const double norm = std::sqrt(2.25 + 16.0);
  const double q = 0.001 * 5.0 / norm;
  EXPECT_NEAR(weight[0][0].item<double>(), 3.0 - 0.1 * q * 1.5, 1e-7);
  EXPECT_NEAR(weight[0][1].item<double>(), 4.0 - 0.1 * q * 4.0, 1e-7);
  EXPECT_NEAR(bias[0].item<double>(), 1.0 - 0.1 * 0.5, 1e-7);  // 1-D: no decay, no trust ratio
  // Second step: momentum 0.9 on the bias: mu = 0.9 * 0.5 + 0.5.
  bias.mutable_grad() = torch::tensor({0.5});
  weight.mutable_grad() = torch::zeros({1, 2});
  lars.step();
  EXPECT_NEAR(bias[0].item<double>(), 0.95 - 0.1 * 0.95, 1e-7);
}

TEST(GradScaler, Fp16ScalingSkipsInfAndBacksOff) {
  at::Tensor weight = torch::ones({2}).requires_grad_();
  ParamGroup group{"all", {"w"}, {weight}, 0.0};
  AdamW optimizer({group}, 0.1);
  GradScaler scaler(true, GradScalerState{1024.0, 2.0, 0.5, 2, 0});
  scaler.scale((weight * 2).sum()).backward();
  EXPECT_FLOAT_EQ(weight.grad()[0].item<float>(), 2048.0F);
  const double norm = scaler.unscale_clip_and_step(optimizer, std::nullopt).item<double>();
  EXPECT_NEAR(norm, std::sqrt(8.0), 1e-5);  // unscaled: (2, 2)
  EXPECT_LT(weight[0].item<float>(), 1.0F);
  optimizer.zero_grad();
  const auto before = weight.clone();
  scaler.scale((weight * std::numeric_limits<float>::infinity()).sum()).backward();
  scaler.unscale_clip_and_step(optimizer, std::nullopt);
  EXPECT_TRUE(torch::equal(weight, before));  // the step is skipped
  EXPECT_DOUBLE_EQ(scaler.state()->scale, 512.0);
}

TEST(GradScaler, ClipGradNormLikeTorch) {
  at::Tensor a = torch::zeros({2}).requires_grad_();
  a.mutable_grad() = torch::tensor({3.0F, 4.0F});
  EXPECT_NEAR(clip_grad_norm({a}, 1.0), 5.0, 1e-6);
  EXPECT_NEAR(a.grad().norm().item<double>(), 1.0, 1e-5);
}

}  // namespace
