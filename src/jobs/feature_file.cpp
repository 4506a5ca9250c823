#include "mae/jobs/feature_file.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mae/io/atomic_file.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::jobs {
namespace fs = std::filesystem;
namespace {

// The features file's record of its paths file: FNV-1a (64 bits) of the paths file's bytes. It ties the pair
// together, so that a reader notices a paths file that was not written with the features beside it.
constexpr const char* kPathsFingerprint = "paths_fnv1a64";

std::string paths_fingerprint(const std::string& bytes) {
  uint64_t hash = 14695981039346656037ULL;
  for (const char byte : bytes) {
    hash = (hash ^ static_cast<unsigned char>(byte)) * 1099511628211ULL;
  }
  return std::to_string(hash);
}

// The paths file of the features file `path`, checked to be the one written with it: one path per row and, where
// the features file records it (those written before it did record none), the same fingerprint. None when there is
// no paths file (a features file copied alone: the kNN classifier needs none).
std::vector<std::string> read_paths_file(const std::string& path, int64_t rows, const io::Metadata& metadata) {
  const std::string sidecar = feature_paths_file(path);
  std::ifstream in(sidecar, std::ios::binary);
  if (!in) {
    return {};
  }
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<std::string> paths;
  std::istringstream lines(bytes);
  for (std::string line; std::getline(lines, line);) {
    paths.push_back(line);
  }
  std::string mismatch;
  if (static_cast<int64_t>(paths.size()) != rows) {
    mismatch = text(paths.size(), " paths for ", rows, " feature rows");
  } else if (const auto recorded = metadata.find(kPathsFingerprint);
             recorded != metadata.end() && recorded->second != paths_fingerprint(bytes)) {
    mismatch = text("its fingerprint is not the ", kPathsFingerprint, " the features file records");
  }
  if (!mismatch.empty()) {
    throw UsageError(text("'", sidecar, "' does not belong to '", path, "' (", mismatch, "): they were not written ",
                          "together, as when mae_extract stops while replacing them; extract the features again"));
  }
  return paths;
}

}  // namespace

std::string feature_paths_file(const std::string& path) {
  const std::string suffix = ".safetensors";
  return (path.ends_with(suffix) ? path.substr(0, path.size() - suffix.size()) : path) + ".paths.txt";
}

void save_feature_file(const std::string& path, const FeatureSet& set, bool fp16, const io::Metadata& extra) {
  io::NamedTensors tensors{{"features", set.features.to(fp16 ? at::kHalf : at::kFloat)}};
  if (set.labels) {
    tensors.emplace_back("labels", *set.labels);
  }
  std::string lines;
  for (const auto& image : set.paths) {
    lines += image + '\n';
  }
  io::Metadata metadata = extra;
  metadata["format"] = "mae-cpp features 1";
  metadata["count"] = std::to_string(set.features.size(0));
  metadata["classes"] = nlohmann::json(set.classes).dump();
  metadata[kPathsFingerprint] = paths_fingerprint(lines);
  if (const fs::path folder = fs::path(path).parent_path(); !folder.empty()) {
    fs::create_directories(folder);
  }
  // Both files are whole on disk before either takes its name, so a failed write leaves the old pair as it was. The
  // paths go first: a crash between the two renames leaves the new paths beside the old features, whose fingerprint
  // they do not match, and load_feature_file refuses the pair.
  io::AtomicFile paths(feature_paths_file(path));
  paths.write(lines.data(), lines.size());
  io::AtomicFile features(path);
  io::write_safetensors(features, tensors, metadata);
  paths.commit();
  features.commit();
}

FeatureSet load_feature_file(const std::string& path) {
  const io::Safetensors file = io::load_safetensors(path);
  FeatureSet set;
  for (const auto& [name, tensor] : file.tensors) {
    if (name == "features") {
      set.features = tensor;
    } else if (name == "labels") {
      set.labels = tensor;  // as stored: knn_classify refuses labels that are not class numbers, naming the file
    }
  }
  if (!set.features.defined() || set.features.dim() != 2) {
    throw UsageError(text("'", path, "' is not a features file: it has no [N, D] tensor \"features\" (write one with "
                          "mae_extract --output)"));
  }
  if (const auto classes = file.metadata.find("classes"); classes != file.metadata.end()) {
    set.classes = nlohmann::json::parse(classes->second).get<std::vector<std::string>>();
  }
  set.paths = read_paths_file(path, set.features.size(0), file.metadata);
  return set;
}

}  // namespace mae::jobs
