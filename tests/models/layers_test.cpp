// The transformer layers' own behaviour: both attention paths (explicit products for short fp32 sequences on the
// CPU, ATen's fused kernel otherwise) and the row-subset forms the MAE's training loss uses.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "fixtures.h"
#include "mae/models/layers.h"

namespace {

using mae::test::matches_reference;

// softmax(q k^T / sqrt(head_dim)) v through proj, in float64 from the module's weights.
at::Tensor attention_in_double(mae::models::AttentionImpl& attention, const at::Tensor& x) {
  const auto d = [](const at::Tensor& t) { return t.detach().to(at::kDouble); };
  const int64_t batch = x.size(0);
  const int64_t tokens = x.size(1);
  const int64_t dim = x.size(2);
  const int64_t head_dim = dim / attention.num_heads;
  const auto qkv = at::linear(d(x), d(attention.qkv->weight), d(attention.qkv->bias))
                       .reshape({batch, tokens, 3, attention.num_heads, head_dim})
                       .permute({2, 0, 3, 1, 4});
  const auto weights = (at::matmul(qkv[0], qkv[1].transpose(-2, -1)) / std::sqrt(double(head_dim))).softmax(-1);
  const auto heads = at::matmul(weights, qkv[2]).transpose(1, 2).reshape({batch, tokens, dim});
  return at::linear(heads, d(attention.proj->weight), d(attention.proj->bias));
}

TEST(Attention, BothPathsComputeSoftmaxAttentionForAllOrTheLastRows) {
  torch::manual_seed(0);
  mae::models::Attention attention(32, 4);
  for (const int64_t tokens : {17, 64, 65, 197}) {  // explicit products up to 64 tokens, the fused kernel above
    const auto x = torch::randn({2, tokens, 32});
    const auto expected = attention_in_double(*attention, x);
    for (const int64_t first : {int64_t{0}, tokens - 5}) {
      const std::string what = "attention, " + std::to_string(tokens) + " tokens from row " + std::to_string(first);
      EXPECT_TRUE(matches_reference(attention->forward(x, first), expected.slice(1, first), what));
    }
  }
}

TEST(Block, SharedRowsGiveTheSameOutputAsTheGatheredInput) {
  torch::manual_seed(1);
  mae::models::Block block(16, 2, 4.0);
  const auto own = torch::randn({3, 4, 16});
  const auto shared = torch::randn({1, 10, 16});
  const auto ids = torch::randint(10, {3, 6}, torch::kLong);
  const auto input = torch::cat({own, mae::models::gather_tokens(shared, ids)}, 1);
  for (const int64_t first : {0, 4}) {
    EXPECT_TRUE(matches_reference(block->forward_with_shared_rows(own, shared, ids, first),
                                  block->forward(input, first), "shared rows from row " + std::to_string(first)));
    EXPECT_TRUE(matches_reference(block->forward(input, first), block->forward(input).slice(1, first),
                                  "the last rows only, from row " + std::to_string(first)));
  }
}

}  // namespace
