// Model FLOPs per image against torch.utils.flop_counter on the reference models (scripts/bench_reference.py).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "mae/models/flops.h"
#include "support/test_support.h"

namespace {

// The forward FLOPs per image that FlopCounterMode counts for bench_reference.py's model of this job and shape.
double reference_forward_flops(const std::string& job, const std::string& shape) {
  const auto result = mae::test::run_command(
      mae::test::shell_quote(mae::test::python()) + " " +
      mae::test::shell_quote((mae::test::source_dir() / "scripts/bench_reference.py").string()) +
      " --flops_only --job " + job + " " + shape);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return mae::test::last_json_line(result.output).at("forward_flops_per_image").get<double>();
}

TEST(ModelFlops, MaeForwardEqualsTorchFlopCounter) {
  // 28 px with patch 4: 49 patches, 12 visible at mask ratio 0.75 (int(49 * 0.25)).
  mae::models::MaeOptions options{{28, 4, 3, 32, 2, 4, 4.0}, 16, 1, 2};
  const double expected = reference_forward_flops(
      "pretrain", "--input_size 28 --patch_size 4 --embed_dim 32 --depth 2 --num_heads 4 --decoder_embed_dim 16 "
                  "--decoder_depth 1 --decoder_num_heads 2");
  EXPECT_DOUBLE_EQ(mae::models::mae_forward_flops(options, 0.75), expected);
}

TEST(ModelFlops, VitForwardEqualsTorchFlopCounter) {
  mae::models::VitOptions options;
  options.encoder = {32, 8, 3, 48, 3, 4, 2.5};
  options.num_classes = 10;
  const double expected = reference_forward_flops(
      "inference", "--input_size 32 --patch_size 8 --embed_dim 48 --depth 3 --num_heads 4 --mlp_ratio 2.5 "
                   "--num_classes 10");
  EXPECT_DOUBLE_EQ(mae::models::vit_forward_flops(options), expected);
}

TEST(ModelFlops, ViTBaseIsTheWellKnownFigure) {
  // ViT-B/16 at 224 px: the 17.6 GMACs timm lists, 35.1 GFLOPs at 2 FLOPs per multiply-add.
  mae::models::VitOptions base;
  base.encoder = {224, 16, 3, 768, 12, 12, 4.0};
  EXPECT_NEAR(mae::models::vit_forward_flops(base) / 1e9, 35.13, 0.01);
}

}  // namespace
