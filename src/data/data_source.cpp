#include "mae/data/data_source.h"

#include <filesystem>

#include "mae/data/folder/loader.h"
#include "mae/data/shards/shard_list.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::data {
namespace fs = std::filesystem;

const std::vector<std::string>& DataSource::classes() const {
  static const std::vector<std::string> none;
  if (from_shards()) {
    return index ? index->classes : none;
  }
  return folder.classes();
}

int64_t DataSource::size() const {
  if (from_shards()) {
    return index ? index->total : 0;
  }
  return static_cast<int64_t>(folder.size());
}

std::string DataSource::describe() const {
  if (from_shards()) {
    return text(shards.size(), " shards of ", location, index ? text(" (", index->total, " samples)") : "");
  }
  return text(folder.size(), " images under ", folder.root());
}

std::optional<std::string> shards_at(const std::string& path, const std::string& split) {
  if (split.empty() && is_shard_spec(path)) {
    return path;
  }
  const std::string folder = (fs::path(path) / split).string();
  if (!split.empty() && fs::is_directory(folder) && is_shard_spec(folder)) {
    return folder;
  }
  return std::nullopt;
}

DataSource shard_source(const std::string& spec, bool with_index) {
  DataSource source;
  source.location = spec;
  source.shards = expand_shard_spec(spec);
  if (with_index) {
    source.index = find_shard_index(source.shards);
  }
  return source;
}

namespace {

DataSource folder_source(ImageFolder folder) {
  DataSource source;
  source.location = folder.root();
  source.folder = std::move(folder);
  return source;
}

}  // namespace

DataSource pretraining_source(const std::string& data_path, bool with_index) {
  const auto spec = shards_at(data_path);
  if (const auto found = spec ? spec : shards_at(data_path, "train")) {
    return shard_source(*found, with_index);
  }
  return folder_source(training_images(data_path, /*labelled=*/false));
}

ClassificationSources classification_sources(const std::string& data_path) {
  const auto train_spec = shards_at(data_path, "train");
  const auto val_spec = shards_at(data_path, "val");
  if (!train_spec && !val_spec) {
    ImageFolder train = training_images(data_path, /*labelled=*/true);
    ImageFolder val = validation_images(data_path, train);
    return {folder_source(std::move(train)), folder_source(std::move(val))};
  }
  if (!train_spec || !val_spec) {
    throw UsageError(text("--data_path '", data_path, "': ", train_spec ? "train/" : "val/", " holds shards and ",
                          train_spec ? "val/" : "train/", " does not; pack both (mae_shard packs train/ and val/ ",
                          "together)"));
  }
  ClassificationSources sources{shard_source(*train_spec), shard_source(*val_spec)};
  if (!sources.train.index || !sources.val.index || sources.train.index->classes != sources.val.index->classes) {
    throw UsageError(text("the shards of '", *train_spec, "' and '", *val_spec, "' need index.json files with the ",
                          "same classes (mae_shard writes them)"));
  }
  return sources;
}

DataSource extraction_source(const std::string& path) {
  if (const auto spec = shards_at(path)) {
    return shard_source(*spec);
  }
  if (!fs::is_directory(path)) {
    throw UsageError(text("--data_path '", path, "' is not a folder"));
  }
  return folder_source(ImageFolder::with_classes_if_any(path));
}

std::unique_ptr<BatchStream> open_batches(const DataSource& source, SampleTransform transform,
                                          const LoaderOptions& options) {
  if (source.from_shards()) {
    return std::make_unique<ShardLoader>(source.shards, std::move(transform), options, source.index);
  }
  return std::make_unique<DataLoader>(source.folder, std::move(transform), options);
}

}  // namespace mae::data
