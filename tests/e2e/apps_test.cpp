// The executables as a user runs them.
#include <gtest/gtest.h>

#include <fstream>

#include "support/test_support.h"

namespace {

using mae::test::run_command;
using mae::test::shell_quote;

using mae::test::app;

class EveryApp : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryApp, PrintsHelpAndExitsZero) {
  const auto result = run_command(app(GetParam()) + " --help");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("--batch_size"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("--config"), std::string::npos);
}

TEST_P(EveryApp, RejectsAnUnknownConfigKeyWithExitCodeTwoAndOneLine) {
  mae::test::TempDir dir;
  std::ofstream(dir / "bad.json") << R"({"bach_size": 8})";
  const auto result = run_command(app(GetParam()) + " --config " + shell_quote((dir / "bad.json").string()));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("unknown key 'bach_size' (did you mean 'batch_size'?)"), std::string::npos)
      << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
}

TEST_P(EveryApp, RejectsAnUnknownFlagWithExitCodeTwo) {
  const auto result = run_command(app(GetParam()) + " --epoch 3");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("unknown flag '--epoch' (did you mean '--epochs'?)"), std::string::npos)
      << result.output;
}

INSTANTIATE_TEST_SUITE_P(Apps, EveryApp, ::testing::Values("mae_pretrain", "mae_finetune", "mae_linprobe"));

}  // namespace
