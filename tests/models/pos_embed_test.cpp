#include <gtest/gtest.h>

#include <torch/torch.h>

#include "fixtures.h"
#include "mae/models/pos_embed.h"
#include "mae/util/error.h"

namespace {

using mae::models::get_2d_sincos_pos_embed;
using mae::models::interpolate_pos_embed;
using mae::test::matches_reference;

TEST(PosEmbed, SinCosTablesMatchTheReference) {
  const auto fixture = mae::test::load_model_fixture("pos_embed");
  EXPECT_TRUE(matches_reference(get_2d_sincos_pos_embed(16, 4, true), fixture.at("sincos_d16_g4_cls").toTensor(),
                                "sincos d16 g4 cls", 1e-12));
  EXPECT_TRUE(matches_reference(get_2d_sincos_pos_embed(32, 3, false), fixture.at("sincos_d32_g3").toTensor(),
                                "sincos d32 g3", 1e-12));
  EXPECT_TRUE(matches_reference(get_2d_sincos_pos_embed(64, 14, true), fixture.at("sincos_d64_g14_cls").toTensor(),
                                "sincos d64 g14 cls", 1e-12));
}

TEST(PosEmbed, ClsRowIsZeroAndTableIsFloat64) {
  const auto table = get_2d_sincos_pos_embed(8, 2, true);
  EXPECT_EQ(table.scalar_type(), torch::kDouble);
  EXPECT_EQ(table.sizes(), (std::vector<int64_t>{5, 8}));
  EXPECT_TRUE(torch::equal(table[0], torch::zeros({8}, torch::kDouble)));
  // Patch (row 0, column 1): the first half encodes the column: sin(1 * omega_0) with omega_0 = 1.
  EXPECT_DOUBLE_EQ(table[2][0].item<double>(), std::sin(1.0));
  EXPECT_DOUBLE_EQ(table[2][4].item<double>(), 0.0);  // second half: row 0 -> sin(0)
}

TEST(PosEmbed, RejectsWidthsTheTableCannotSplit) {
  EXPECT_THROW(get_2d_sincos_pos_embed(18, 4, true), mae::UsageError);
}

TEST(PosEmbed, BicubicInterpolationMatchesTheReference) {
  const auto fixture = mae::test::load_model_fixture("pos_embed");
  const auto source = fixture.at("interp_source_g4").toTensor();
  EXPECT_TRUE(matches_reference(interpolate_pos_embed(source, 1, 6), fixture.at("interp_to_g6").toTensor(),
                                "interpolate g4->g6"));
  EXPECT_TRUE(matches_reference(interpolate_pos_embed(source, 1, 3), fixture.at("interp_to_g3").toTensor(),
                                "interpolate g4->g3"));
  EXPECT_TRUE(torch::equal(interpolate_pos_embed(source, 1, 4), source));
}

}  // namespace
