#include "mae/util/strings.h"

#include <gtest/gtest.h>

#include "mae/util/error.h"

namespace {

TEST(Strings, EditDistance) {
  EXPECT_EQ(mae::edit_distance("", ""), 0u);
  EXPECT_EQ(mae::edit_distance("abc", ""), 3u);
  EXPECT_EQ(mae::edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(mae::edit_distance("mask_ratoi", "mask_ratio"), 2u);
}

TEST(Strings, ClosestMatchSuggestsTyposOnly) {
  const std::vector<std::string> names{"batch_size", "blr", "lr", "mask_ratio"};
  EXPECT_EQ(mae::closest_match("bach_size", names), "batch_size");
  EXPECT_EQ(mae::closest_match("blr", names), "blr");
  EXPECT_EQ(mae::closest_match("learning_rate", names), "");
}

TEST(Strings, TextConcatenates) {
  EXPECT_EQ(mae::text("epoch ", 3, ", loss ", 0.5), "epoch 3, loss 0.5");
}

TEST(Errors, UsageErrorsExitWithTwo) {
  EXPECT_EQ(mae::exit_code_for(mae::UsageError("x")), 2);
  EXPECT_EQ(mae::exit_code_for(mae::IoError("x")), 1);
  EXPECT_EQ(mae::exit_code_for(std::runtime_error("x")), 1);
}

}  // namespace
