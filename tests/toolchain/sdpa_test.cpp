// Toolchain proof (d): at::scaled_dot_product_attention runs on the CPU and equals softmax(QK^T / sqrt(d)) V.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace {

at::Tensor explicit_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  return torch::softmax(torch::matmul(q, k.transpose(-2, -1)) * scale, -1).matmul(v);
}

TEST(ScaledDotProductAttention, MatchesExplicitSoftmaxAttentionInFloat32) {
  torch::manual_seed(0);
  // [batch, heads, tokens, head_dim] as the ViT blocks call it: 50 tokens = 49 patches + cls.
  const auto q = torch::randn({2, 3, 50, 16});
  const auto k = torch::randn({2, 3, 50, 16});
  const auto v = torch::randn({2, 3, 50, 16});
  const auto fused = at::scaled_dot_product_attention(q, k, v);
  EXPECT_TRUE(torch::allclose(fused, explicit_attention(q, k, v), /*rtol=*/1e-5, /*atol=*/1e-6))
      << (fused - explicit_attention(q, k, v)).abs().max();
}

TEST(ScaledDotProductAttention, MatchesExplicitSoftmaxAttentionInFloat64) {
  torch::manual_seed(1);
  const auto options = torch::TensorOptions().dtype(torch::kFloat64);
  const auto q = torch::randn({1, 2, 17, 8}, options);
  const auto k = torch::randn({1, 2, 17, 8}, options);
  const auto v = torch::randn({1, 2, 17, 8}, options);
  EXPECT_TRUE(torch::allclose(at::scaled_dot_product_attention(q, k, v), explicit_attention(q, k, v), 1e-12, 1e-12));
}

}  // namespace
