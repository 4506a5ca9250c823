// Activation checkpointing (models/grad_checkpoint.h, set_grad_checkpointing on the MAE and the ViT): the same loss and
// the same gradient for every parameter as the plain run, with drop path drawing its masks (the RNG state replayed in
// backward), in fp32 (within 1e-6 of each gradient's largest entry) and under bf16 autocast (within bf16's unit
// roundoff, 2^-8, of it: the recomputation must replay autocast too, or its fp32 matmuls would differ by about that
// much); the generators go on afterwards as after a plain run; and the same on a GPU (skipped without one).
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>

#include "mae/models/autocast_scope.h"
#include "mae/models/grad_checkpoint.h"
#include "mae/models/mae.h"
#include "mae/models/vit.h"

namespace {

using mae::models::MaeOptions;
using mae::models::MaskedAutoencoderViT;
using mae::models::VisionTransformer;
using mae::models::VitOptions;

struct RecordedStep {
  at::Tensor loss;
  std::map<std::string, at::Tensor> gradients;
  at::Tensor next_draw;  // what the generator draws after backward
};

// Seeds, runs `loss_of` under autocast (`dtype`, or none) as the training step does, backward outside it, and keeps
// every parameter's gradient and the generator's next draw.
RecordedStep run(torch::nn::Module& model, const c10::Device& device, std::optional<c10::ScalarType> dtype,
        const std::function<at::Tensor()>& loss_of) {
  model.zero_grad();
  torch::manual_seed(7);
  at::Tensor loss;
  {
    const mae::models::AutocastScope autocast(device.type(), dtype);
    loss = loss_of();
  }
  loss.backward();
  RecordedStep result{loss.detach().cpu(), {}, at::rand({4}, at::TensorOptions().device(device)).cpu()};
  for (const auto& parameter : model.named_parameters()) {
    if (parameter.value().grad().defined()) {
      result.gradients[parameter.key()] = parameter.value().grad().detach().cpu().clone();
    }
  }
  return result;
}

// Each gradient within `relative` of its own largest entry (gradients span orders of magnitude across parameters).
void expect_same(const RecordedStep& checkpointed, const RecordedStep& plain, double relative, const std::string& what) {
  EXPECT_LE((checkpointed.loss - plain.loss).abs().item<double>(), relative * plain.loss.abs().item<double>()) << what;
  ASSERT_EQ(checkpointed.gradients.size(), plain.gradients.size()) << what;
  ASSERT_GT(plain.gradients.size(), 10U) << what;
  for (const auto& [name, expected] : plain.gradients) {
    const at::Tensor& actual = checkpointed.gradients.at(name);
    const double scale = expected.abs().max().item<double>();
    const double error = (actual - expected).abs().max().item<double>();
    EXPECT_LE(error, relative * scale) << what << ": " << name << " (largest entry " << scale << ")";
  }
  EXPECT_TRUE(at::equal(checkpointed.next_draw, plain.next_draw)) << what << ": the generator did not go on as after "
                                                                           "a plain run";
}

VitOptions tiny_vit() {
  VitOptions options{{32, 8, 3, 32, 3, 4, 4.0}, 5};
  options.drop_path_rate = 0.3;  // draws in every block, so a wrong RNG replay shows
  return options;
}

MaeOptions tiny_mae() { return MaeOptions{{32, 8, 3, 32, 2, 4, 4.0}, 16, 3, 2}; }

// Fine-tuning's step on a ViT with drop path, plain and checkpointed, from the same weights and seed.
void expect_vit_gradients_equal(const c10::Device& device, std::optional<c10::ScalarType> dtype, double relative) {
  torch::manual_seed(0);
  VisionTransformer model(tiny_vit());
  model->to(device);
  model->train();
  torch::manual_seed(1);
  const at::Tensor images = at::randn({4, 3, 32, 32}).to(device);
  const at::Tensor labels = at::tensor({0, 1, 2, 4}, at::kLong).to(device);
  const auto loss_of = [&] { return at::cross_entropy_loss(model->forward(images), labels); };
  const RecordedStep plain = run(*model, device, dtype, loss_of);
  model->set_grad_checkpointing();
  const RecordedStep checkpointed = run(*model, device, dtype, loss_of);
  expect_same(checkpointed, plain, relative, "ViT on " + device.str());
}

// Pre-training's loss (the training step's training_loss, and forward()'s) with every encoder and decoder block
// checkpointed; the random masking is drawn outside the blocks, so it is the same in both runs too.
void expect_mae_gradients_equal(const c10::Device& device, std::optional<c10::ScalarType> dtype, double relative) {
  torch::manual_seed(0);
  MaskedAutoencoderViT model(tiny_mae());
  model->to(device);
  model->train();
  torch::manual_seed(1);
  const at::Tensor images = at::randn({4, 3, 32, 32}).to(device);
  for (const bool fast_path : {true, false}) {
    const auto loss_of = [&] {
      return fast_path ? model->training_loss(images, 0.75) : model->forward(images, 0.75).loss;
    };
    model->set_grad_checkpointing(false);
    const RecordedStep plain = run(*model, device, dtype, loss_of);
    model->set_grad_checkpointing();
    const RecordedStep checkpointed = run(*model, device, dtype, loss_of);
    expect_same(checkpointed, plain, relative,
                std::string(fast_path ? "training_loss" : "forward") + " on " + device.str());
  }
}

constexpr double kFp32 = 1e-6;
constexpr double kBf16 = 1.0 / 256;

TEST(GradCheckpointing, VitGradientsEqualThePlainRunsWithDropPath) {
  expect_vit_gradients_equal(c10::Device(c10::kCPU), std::nullopt, kFp32);
}

TEST(GradCheckpointing, VitGradientsEqualThePlainRunsUnderBf16Autocast) {
  expect_vit_gradients_equal(c10::Device(c10::kCPU), c10::kBFloat16, kBf16);
}

TEST(GradCheckpointing, MaeGradientsEqualThePlainRuns) {
  expect_mae_gradients_equal(c10::Device(c10::kCPU), std::nullopt, kFp32);
  expect_mae_gradients_equal(c10::Device(c10::kCPU), c10::kBFloat16, kBf16);
}

TEST(GradCheckpointing, ATrainableBlockBehindFrozenOnesStillGetsItsGradients) {
  // --finetune_blocks 1: the last block's input needs no gradient, so a checkpoint would have no backward there.
  torch::manual_seed(0);
  VisionTransformer model(tiny_vit());
  mae::models::freeze_all_but_last_blocks(*model, 1);
  model->train();
  torch::manual_seed(1);
  const at::Tensor images = at::randn({4, 3, 32, 32});
  const at::Tensor labels = at::tensor({0, 1, 2, 4}, at::kLong);
  const auto loss_of = [&] { return at::cross_entropy_loss(model->forward(images), labels); };
  const c10::Device cpu(c10::kCPU);
  const RecordedStep plain = run(*model, cpu, std::nullopt, loss_of);
  model->set_grad_checkpointing();
  const RecordedStep checkpointed = run(*model, cpu, std::nullopt, loss_of);
  ASSERT_TRUE(plain.gradients.contains("blocks.2.mlp.fc1.weight"));
  expect_same(checkpointed, plain, kFp32, "the last block trainable");
}

TEST(GradCheckpointing, KeepsOnlyTheBlockInputsForBackward) {
  // The checkpointed block's graph node holds its inputs only: the block's own ops are not in the graph.
  torch::manual_seed(0);
  VisionTransformer model(tiny_vit());
  model->train();
  model->set_grad_checkpointing();
  const at::Tensor tokens = model->forward_tokens(at::randn({2, 3, 32, 32}));
  const auto from_checkpoint = [](const at::Tensor& x) {
    return x.grad_fn()->name().find("CheckpointFunction") != std::string::npos;
  };
  EXPECT_TRUE(from_checkpoint(tokens)) << tokens.grad_fn()->name() << ": the last block's output should come from the "
                                          "checkpoint, not from the block's own ops";
  model->eval();
  const at::Tensor evaluated = model->forward_tokens(at::randn({2, 3, 32, 32}));
  EXPECT_FALSE(from_checkpoint(evaluated)) << "evaluation runs the blocks plainly";
}

TEST(GradCheckpointing, OnTheGpuToo) {
  if (!torch::cuda::is_available()) {
    GTEST_SKIP() << "no GPU on this machine";
  }
  const c10::Device cuda(c10::kCUDA, 0);
  expect_vit_gradients_equal(cuda, std::nullopt, kFp32);
  expect_vit_gradients_equal(cuda, c10::kBFloat16, kBf16);
  expect_mae_gradients_equal(cuda, c10::kBFloat16, kBf16);
}

}  // namespace
