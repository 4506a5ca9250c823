// The engine core must build without the data layer (-DMAE_WITH_DATA=OFF, the GPU build with no OpenCV): none of
// the sources CMake lists for mae_engine, nor their headers, may include data-layer, OpenCV or job headers.
#include <gtest/gtest.h>

#include <regex>

#include "support/test_support.h"

namespace {


TEST(Layering, EngineCoreNeedsNoDataLayer) {
  const auto root = mae::test::source_dir();
  const std::string cmake = mae::test::read_file(root / "src/engine/CMakeLists.txt");
  const auto start = cmake.find("add_library(mae_engine STATIC");
  ASSERT_NE(start, std::string::npos);
  const std::string sources = cmake.substr(start, cmake.find(')', start) - start);
  const std::regex source_file(R"(([a-z_]+)\.cpp)");
  const std::regex forbidden(R"(#include\s*[<"](mae/data/|opencv|mae/engine/(run_context|train_epoch|pretrain|classifier|visualize|bench_loader)\.h))");
  int checked = 0;
  for (std::sregex_iterator it(sources.begin(), sources.end(), source_file), end; it != end; ++it) {
    const std::string name = (*it)[1];
    for (const auto& file : {root / "src/engine" / (name + ".cpp"), root / "include/mae/engine" / (name + ".h")}) {
      if (!std::filesystem::exists(file)) {
        continue;
      }
      const std::string text = mae::test::read_file(file);
      std::smatch match;
      EXPECT_FALSE(std::regex_search(text, match, forbidden)) << file << " includes " << match.str();
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
