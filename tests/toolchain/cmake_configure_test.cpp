// A build folder configured with one LibTorch refuses a later -DCMAKE_PREFIX_PATH that names another, instead of
// silently building against the LibTorch its cache remembers (find_package keeps a cached Torch_DIR).
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "support/test_support.h"

namespace {

using mae::test::run_command;
using mae::test::shell_quote;

TEST(CMakeConfigure, ABuildFolderRefusesAnotherLibTorch) {
  mae::test::TempDir dir;
  const std::string source = shell_quote(mae::test::source_dir().string());
  const std::string build = shell_quote((dir / "build").string());
  const auto first = run_command("cmake -S " + source + " -B " + build +
                                 " -G Ninja -DMAE_BUILD_TESTS=OFF -DMAE_WITH_DATA=OFF -DMAE_USE_CCACHE=OFF");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  std::filesystem::create_directories(dir / "cluster-libtorch");
  const auto other = run_command("cmake -S " + source + " -B " + build +
                                 " -DCMAKE_PREFIX_PATH=" + shell_quote((dir / "cluster-libtorch").string()));
  EXPECT_NE(other.exit_code, 0) << other.output;
  // CMake wraps its messages at any space: compare with every run of whitespace as one space.
  const std::string message = std::regex_replace(other.output, std::regex(R"(\s+)"), " ");
  EXPECT_NE(message.find("was configured with the LibTorch at"), std::string::npos) << other.output;
  EXPECT_NE(message.find("Configure a fresh build folder for the other LibTorch"), std::string::npos) << other.output;
}

}  // namespace
