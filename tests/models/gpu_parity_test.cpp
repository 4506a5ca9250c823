// The MAE on a GPU computes what it computes on the CPU: the training loss and every parameter's gradient, on the
// same weights, images and masking noise, in fp32 and under bf16 autocast. Skipped without a GPU (CI has none);
// scripts/gpu_check.sh runs it on one.
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mae/models/autocast_scope.h"
#include "mae/models/mae.h"

namespace {

using mae::models::MaeOptions;
using mae::models::MaskedAutoencoderViT;

struct LossAndGradients {
  double loss;
  std::vector<std::pair<std::string, at::Tensor>> gradients;  // on the CPU
};

LossAndGradients train_step(const at::Device& device, std::optional<at::ScalarType> autocast) {
  torch::manual_seed(0);  // the same initial weights on every device: they are drawn on the CPU
  MaeOptions options{{32, 8, 3, 64, 2, 4, 4.0}, 32, 2, 4};
  options.norm_pix_loss = true;
  MaskedAutoencoderViT model(options);
  model->to(device);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(11);
  const at::Tensor images = at::randn({8, 3, 32, 32}, generator).to(device);
  const at::Tensor noise = at::rand({8, 16}, generator).to(device);
  at::Tensor loss;
  {
    const mae::models::AutocastScope scope(device.type(), autocast);
    loss = model->training_loss(images, 0.75, noise);
  }
  loss.backward();
  LossAndGradients result{loss.item<double>(), {}};
  for (const auto& item : model->named_parameters()) {
    if (item.value().grad().defined()) {
      result.gradients.emplace_back(item.key(), item.value().grad().cpu().to(at::kFloat));
    }
  }
  return result;
}

// Each gradient within `tolerance` of its own largest entry (the scale on which rounding acts), the loss within
// `tolerance` relative.
void expect_close(const LossAndGradients& gpu, const LossAndGradients& cpu, double tolerance) {
  EXPECT_NEAR(gpu.loss, cpu.loss, tolerance * std::abs(cpu.loss));
  ASSERT_EQ(gpu.gradients.size(), cpu.gradients.size());
  for (std::size_t i = 0; i < cpu.gradients.size(); ++i) {
    const auto& [name, expected] = cpu.gradients[i];
    const double scale = std::max(expected.abs().max().item<double>(), 1e-12);
    const double error = (gpu.gradients[i].second - expected).abs().max().item<double>();
    EXPECT_LE(error, tolerance * scale) << name;
  }
}

TEST(GpuParity, MaeLossAndGradientsMatchTheCpu) {
  if (!torch::cuda::is_available()) {
    GTEST_SKIP() << "no GPU on this machine";
  }
  // fp32 means fp32: TF32 in cuDNN's convolution (the patch embedding) would round to 10 mantissa bits.
  at::globalContext().setAllowTF32CuDNN(false);
  const LossAndGradients cpu = train_step(at::kCPU, std::nullopt);
  // fp32: the same arithmetic in another order (GPU kernels' reductions), 1e-4 relative.
  expect_close(train_step(at::kCUDA, std::nullopt), cpu, 1e-4);
  // bf16 autocast against fp32: bf16 keeps 8 significant bits (one rounding ~4e-3, a result one step off ~8e-3),
  // accumulated through 4 blocks forward and backward; 5e-2 of each gradient's largest entry, as the CPU's bf16
  // proof of training_loss (tests/models/training_loss_test.cpp).
  expect_close(train_step(at::kCUDA, at::kBFloat16), cpu, 5e-2);
  at::globalContext().setAllowTF32CuDNN(true);
}

}  // namespace
