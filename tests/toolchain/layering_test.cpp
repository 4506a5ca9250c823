// The layers of docs/architecture.md are folders: src/<layer>, include/mae/<layer> and the CMake target
// mae_<layer> are one thing, and includes and link dependencies point only downwards. These tests read the tree, so a
// new file in any folder is covered without being listed here.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>

#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

// Each layer and the layers it may use directly (besides itself). apps may use everything.
const std::map<std::string, std::set<std::string>>& allowed_layers() {
  static const std::map<std::string, std::set<std::string>> layers{
      {"util", {}},
      {"config", {"util"}},
      {"io", {"util"}},
      {"models", {"util"}},
      {"data", {"util"}},
      // Settings stop at jobs: engine and distributed take option structs that jobs/job_options fills.
      {"engine", {"util", "io", "models"}},
      {"distributed", {"util"}},
      {"jobs", {"util", "config", "io", "models", "data", "engine", "distributed"}},
  };
  return layers;
}

std::vector<fs::path> sources_of(const std::string& layer) {
  std::vector<fs::path> files;
  for (const auto& folder : {mae::test::source_dir() / "src" / layer, mae::test::source_dir() / "include/mae" / layer}) {
    if (!fs::exists(folder)) {
      continue;
    }
    for (const auto& entry : fs::recursive_directory_iterator(folder)) {
      const auto extension = entry.path().extension();
      if (extension == ".cpp" || extension == ".h") {
        files.push_back(entry.path());
      }
    }
  }
  return files;
}

// The first capture group of every match of `pattern` in `text`.
std::vector<std::string> captures(const std::string& text, const std::regex& pattern) {
  std::vector<std::string> found;
  for (std::sregex_iterator it(text.begin(), text.end(), pattern), end; it != end; ++it) {
    found.push_back((*it)[1]);
  }
  return found;
}

TEST(Layering, EverySourceFolderIsALayerWithItsOwnCMakeTarget) {
  const auto root = mae::test::source_dir();
  std::set<std::string> folders;
  for (const auto& entry : fs::directory_iterator(root / "src")) {
    if (entry.is_directory() && entry.path().filename() != "apps") {
      folders.insert(entry.path().filename().string());
    }
  }
  std::set<std::string> layers;
  for (const auto& [layer, uses] : allowed_layers()) {
    layers.insert(layer);
  }
  EXPECT_EQ(folders, layers) << "a folder under src/ that is not a layer of docs/architecture.md, or the reverse";
  for (const auto& entry : fs::directory_iterator(root / "include/mae")) {
    EXPECT_TRUE(layers.contains(entry.path().filename().string())) << entry.path() << " has no layer";
  }
  for (const auto& layer : folders) {
    const std::string cmake = mae::test::read_file(root / "src" / layer / "CMakeLists.txt");
    EXPECT_NE(cmake.find("add_library(mae_" + layer + " STATIC"), std::string::npos)
        << "src/" << layer << "/CMakeLists.txt does not define the target mae_" << layer;
  }
}

TEST(Layering, IncludesAndLinksPointOnlyDownwards) {
  const std::regex mae_include(R"(#include\s*"mae/([a-z_]+)/)");
  const std::regex linked_layer(R"(\bmae_([a-z_]+)\b)");
  int checked = 0;
  for (const auto& [layer, uses] : allowed_layers()) {
    for (const auto& file : sources_of(layer)) {
      for (const auto& used : captures(mae::test::read_file(file), mae_include)) {
        EXPECT_TRUE(used == layer || uses.contains(used)) << file << " (layer " << layer << ") includes mae/" << used;
      }
      ++checked;
    }
    // Every mae_<name> a layer's CMakeLists.txt links or names must be itself or a layer below it.
    const std::string cmake = mae::test::read_file(mae::test::source_dir() / "src" / layer / "CMakeLists.txt");
    const auto links_start = cmake.find("target_link_libraries");
    ASSERT_NE(links_start, std::string::npos) << layer;
    for (const auto& used : captures(cmake.substr(links_start), linked_layer)) {
      if (allowed_layers().contains(used)) {
        EXPECT_TRUE(used == layer || uses.contains(used)) << "mae_" << layer << " links mae_" << used;
      }
    }
  }
  EXPECT_GT(checked, 100);
}

// OpenCV belongs to the data layer (and the visualizer's figure in jobs); CLI11 to apps alone.
TEST(Layering, OpenCvAndCli11StayInTheirLayers) {
  const std::regex opencv(R"(#include\s*[<"]opencv)");
  const std::regex cli11(R"(#include\s*[<"]CLI/)");
  for (const auto& [layer, uses] : allowed_layers()) {
    for (const auto& file : sources_of(layer)) {
      const std::string text = mae::test::read_file(file);
      if (layer != "data" && file.stem() != "visualize") {
        EXPECT_FALSE(std::regex_search(text, opencv)) << file << " includes OpenCV";
      }
      EXPECT_FALSE(std::regex_search(text, cli11)) << file << " includes CLI11";
    }
  }
}

// -DMAE_WITH_DATA=OFF (a GPU machine without OpenCV) builds the engine, the distributed runtime and the jobs' sources
// that src/jobs/CMakeLists.txt lists before the data layer is added: none of those, nor their headers, nor the job
// headers they include, may reach the data layer or OpenCV.
TEST(Layering, TheBuildWithoutDataNeedsNoDataLayer) {
  const auto root = mae::test::source_dir();
  const std::string cmake = mae::test::read_file(root / "src/jobs/CMakeLists.txt");
  const auto start = cmake.find("set(mae_job_sources");
  ASSERT_NE(start, std::string::npos);
  const std::string listed = cmake.substr(start, cmake.find(')', start) - start);
  std::vector<fs::path> files;
  for (const auto& name : captures(listed, std::regex(R"(([a-z_]+)\.cpp)"))) {
    files.push_back(root / "src/jobs" / (name + ".cpp"));
    files.push_back(root / "include/mae/jobs" / (name + ".h"));
  }
  ASSERT_FALSE(files.empty());
  for (const auto& layer : {"engine", "distributed"}) {
    const auto layer_files = sources_of(layer);
    files.insert(files.end(), layer_files.begin(), layer_files.end());
  }
  const std::regex forbidden(R"(#include\s*[<"](mae/data/|opencv))");
  const std::regex job_header(R"(#include\s*"mae/jobs/([a-z_]+)\.h")");
  std::set<fs::path> seen;
  while (!files.empty()) {
    const fs::path file = files.back();
    files.pop_back();
    if (!fs::exists(file) || !seen.insert(file).second) {
      continue;
    }
    const std::string text = mae::test::read_file(file);
    std::smatch match;
    EXPECT_FALSE(std::regex_search(text, match, forbidden)) << file << " includes " << match.str();
    for (const auto& name : captures(text, job_header)) {
      files.push_back(root / "include/mae/jobs" / (name + ".h"));
    }
  }
  EXPECT_GT(seen.size(), 20u);
}

}  // namespace
