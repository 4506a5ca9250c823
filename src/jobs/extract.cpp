#include "mae/jobs/extract.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mae/config/job_config.h"
#include "mae/data/loader.h"
#include "mae/data/pipelines.h"
#include "mae/data/shard_list.h"
#include "mae/data/shard_loader.h"
#include "mae/data/shard_source.h"
#include "mae/data/tar_samples.h"
#include "mae/engine/knn.h"
#include "mae/engine/metric_logger.h"
#include "mae/io/atomic_file.h"
#include "mae/jobs/feature_encoder.h"
#include "mae/jobs/job_options.h"
#include "mae/models/autocast_scope.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::jobs {
namespace fs = std::filesystem;
namespace {

// Rank r's j-th row is image r + j * world_size (DistributedSampler without shuffle; rows past the end are its
// padding and are dropped). Each chunk of the whole [total, D] matrix is zero except this rank's rows, and the sum
// over the ranks puts every row in place on every rank; chunks bound the device memory.
at::Tensor gather_rows(const at::Tensor& local, int64_t total, const RunContext& context) {
  if (!context.communicator) {
    return local.slice(0, 0, total);
  }
  const int64_t world = context.world_size();
  const int64_t rank = context.rank();
  const int64_t width = local.size(1);
  const int64_t rows_per_chunk = std::max<int64_t>(1, (int64_t{64} << 20) / (width * 4));
  const auto first_local_row_at_or_after = [&](int64_t position) {
    return position <= rank ? 0 : std::min(local.size(0), (position - rank + world - 1) / world);
  };
  at::Tensor all = at::empty({total, width}, at::kFloat);
  for (int64_t begin = 0; begin < total; begin += rows_per_chunk) {
    const int64_t end = std::min(total, begin + rows_per_chunk);
    at::Tensor chunk = at::zeros({end - begin, width}, at::TensorOptions(at::kFloat).device(context.device));
    const int64_t first = first_local_row_at_or_after(begin);
    const int64_t last = first_local_row_at_or_after(end);
    if (last > first) {
      const at::Tensor positions = at::arange(first, last, at::kLong) * world + rank - begin;
      chunk.index_copy_(0, positions.to(context.device), local.slice(0, first, last).to(context.device));
    }
    context.communicator->all_reduce_sum(chunk, "gathering extracted features");
    all.slice(0, begin, end).copy_(chunk.cpu());
  }
  return all;
}

// A folder of class subfolders is labelled (ImageFolder); a folder of images is not.
data::ImageFolder images_to_extract(const std::string& data_path) {
  if (!fs::is_directory(data_path)) {
    throw UsageError(text("--data_path '", data_path, "' is not a folder"));
  }
  for (const auto& entry : fs::directory_iterator(data_path)) {
    if (entry.is_directory()) {
      return data::ImageFolder::with_classes(data_path);
    }
  }
  return data::ImageFolder::without_labels(data_path);
}

// The classifier settings the extraction borrows to resolve the checkpoint's architecture, bind the device and join
// the launcher's process group, exactly as the jobs do.
config::LinprobeConfig classifier_frame(const config::ExtractConfig& config) {
  config::LinprobeConfig frame;
  frame.device = config.device;
  frame.amp = config.amp;
  frame.dist_url = config.dist_url;
  frame.dist_timeout = config.dist_timeout;
  if (!config.model.empty()) {
    frame.model = config.model;
    frame.given.insert("model");
  }
  if (config.input_size) {
    frame.input_size = *config.input_size;
    frame.given.insert("input_size");
  }
  frame.num_heads = config.num_heads;
  return frame;
}

const at::Tensor& require_labels(const FeatureSet& set, const std::string& path) {
  if (!set.labels) {
    throw UsageError(text("'", path, "' has no labels (its images were not in class folders): the kNN classifier "
                          "needs labelled features"));
  }
  return *set.labels;
}

void evaluate_knn(const FeatureSet& train, const std::string& train_path, const FeatureSet& test,
                  const std::string& test_path, const config::ExtractConfig& config) {
  if (!train.classes.empty() && !test.classes.empty() && train.classes != test.classes) {
    throw UsageError(text("'", train_path, "' and '", test_path, "' do not have the same classes (",
                          join(train.classes, ", ", 5), " against ", join(test.classes, ", ", 5), ")"));
  }
  // The files' class list, when they have one, bounds their labels.
  engine::KnnOptions options{config.knn_k, config.knn_temperature,
                             static_cast<int64_t>(train.classes.empty() ? test.classes.size() : train.classes.size())};
  options.train_name = text("'", train_path, "'");
  options.test_name = text("'", test_path, "'");
  const engine::KnnResult result = engine::knn_classify(train.features, require_labels(train, train_path),
                                                        test.features, require_labels(test, test_path), options);
  log::info(engine::describe(result, options));
}

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

FeatureSet extract_features(models::VisionTransformerImpl& encoder, const data::ImageFolder& images,
                            const ExtractionOptions& options, const RunContext& context) {
  data::LoaderOptions loading;
  loading.batch_size = options.batch_size;
  loading.num_workers = options.num_workers;
  loading.shuffle = false;
  loading.drop_last = false;
  loading.pin_memory = context.device.is_cuda();
  loading.rank = context.rank();
  loading.world_size = context.world_size();
  loading.strict_data = options.strict_data;
  loading.replace_unreadable = true;  // without strict_data: every row stays filled
  loading.max_image_pixels = options.max_image_pixels;
  data::DataLoader loader(images, data::eval_transform(options.input_size, options.in_chans), loading);

  const c10::NoGradGuard no_grad;
  encoder.eval();
  loader.start_epoch(0);
  engine::MetricLogger progress(text(options.what, ":"), loader.batches_per_epoch(), 20, context.device);
  std::vector<at::Tensor> rows;
  for (int64_t step = 0; step < loader.batches_per_epoch(); ++step) {
    const auto batch = loader.next();
    progress.batch_loaded();
    const models::AutocastScope autocast(context.device.type(), context.precision.autocast);
    const at::Tensor pooled =
        models::pooled_features(encoder, batch->images.to(context.device, /*non_blocking=*/true), options.pool);
    rows.push_back(pooled.to(at::kFloat).cpu());
    progress.iteration_done(step);
  }
  progress.finish();
  if (loader.skipped_images() > 0) {
    log::warn(text(options.what, ": ", loader.skipped_images(), " unreadable image(s) replaced by the next readable ",
                   "one"));
  }

  FeatureSet set;
  const auto total = static_cast<int64_t>(images.size());
  const at::Tensor local =
      rows.empty() ? at::empty({0, encoder.options().encoder.embed_dim}, at::kFloat) : at::cat(rows);
  set.features = gather_rows(local, total, context);
  set.classes = images.classes();
  std::vector<int64_t> labels;
  for (const auto& sample : images.samples()) {
    set.paths.push_back(sample.path);
    labels.push_back(sample.label);
  }
  if (!set.classes.empty()) {
    set.labels = at::tensor(labels, at::kLong);
  }
  return set;
}

FeatureSet extract_shard_features(models::VisionTransformerImpl& encoder, const std::vector<std::string>& shards,
                                  const ExtractionOptions& options, const RunContext& context) {
  if (context.world_size() > 1) {
    throw UsageError(text("extracting from shards runs in one process (", context.world_size(), " were started): ",
                          "start one, or extract from an image folder"));
  }
  const c10::NoGradGuard no_grad;
  encoder.eval();
  const data::SampleTransform transform = data::eval_transform(options.input_size, options.in_chans);
  FeatureSet set;
  if (const auto index = data::find_shard_index(shards)) {
    set.classes = index->classes;
  }
  std::vector<at::Tensor> rows;
  std::vector<at::Tensor> pending;
  std::vector<int64_t> labels;
  bool labelled = true;
  const auto start = std::chrono::steady_clock::now();
  const auto forward = [&] {
    if (pending.empty()) {
      return;
    }
    const models::AutocastScope autocast(context.device.type(), context.precision.autocast);
    const at::Tensor images = at::stack(pending).to(context.device);
    rows.push_back(models::pooled_features(encoder, images, options.pool).to(at::kFloat).cpu());
    pending.clear();
    if (rows.size() % 20 == 0) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      log::info(text(options.what, ": ", labels.size(), " samples, ", fixed(labels.size() / seconds, 0), " images/s"));
    }
  };
  for (const auto& shard : shards) {  // in order, every sample once; an unreadable one stops, naming it
    data::ShardSource source(shard, options.pipe_timeout);
    data::TarSampleReader reader(source, {/*strict=*/true, /*require_label=*/false});
    while (auto sample = reader.next()) {
      const std::string name = text(shard, ":", sample->key);
      data::Rng rng(0, 0, 0);  // the evaluation transform draws nothing
      const data::EncodedImage image =
          data::EncodedImage::from_bytes(std::move(sample->image), name, options.max_image_pixels);
      pending.push_back(transform(image, rng));
      set.paths.push_back(name);
      labelled = labelled && sample->label.has_value();
      labels.push_back(sample->label.value_or(0));
      if (static_cast<int>(pending.size()) == options.batch_size) {
        forward();
      }
    }
  }
  forward();
  if (rows.empty()) {
    throw UsageError(text("the shards ", join(shards, ", ", 3), " hold no sample"));
  }
  set.features = at::cat(rows);
  if (labelled) {
    set.labels = at::tensor(labels, at::kLong);
  } else {
    set.classes.clear();
  }
  return set;
}

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

void run_extract(const config::ExtractConfig& config) {
  if (!config.extracts()) {
    evaluate_knn(load_feature_file(config.knn_train), config.knn_train, load_feature_file(config.knn_test),
                 config.knn_test, config);
    return;
  }
  config::LinprobeConfig frame = classifier_frame(config);
  const distributed::LaunchEnv launch = distributed::detect_launch_env(launch_settings(frame), distributed::process_environment());
  log::configure(launch.rank, launch.world_size);
  models::VisionTransformer encoder = load_feature_encoder(config.checkpoint, frame);
  const bool from_shards = data::is_shard_spec(config.data_path);
  const std::vector<std::string> shards = from_shards ? data::expand_shard_spec(config.data_path)
                                                      : std::vector<std::string>{};
  const data::ImageFolder images = from_shards ? data::ImageFolder{} : images_to_extract(config.data_path);
  const RunContext context = make_run_context(frame, launch);
  encoder->to(context.device);
  log::info(text("Encoder of ", config.checkpoint, ": ", frame.model, ", ", models::describe(encoder->options().encoder),
                 " at ", frame.input_size, " px, ", config.pool, " features; ",
                 from_shards ? text(shards.size(), " shards of ", config.data_path)
                             : text(images.size(), " images under ", config.data_path,
                                    images.classes().empty() ? " (no class folders: no labels)"
                                                             : text(" in ", images.classes().size(), " classes"))));
  ExtractionOptions options;
  options.pool = models::parse_feature_pool(config.pool);
  options.input_size = frame.input_size;
  options.in_chans = static_cast<int>(encoder->options().encoder.in_chans);
  options.batch_size = config.batch_size;
  options.num_workers = config.num_workers;
  options.max_image_pixels = config.max_image_pixels;
  options.pipe_timeout = std::chrono::seconds(config.pipe_timeout);
  const FeatureSet set = from_shards ? extract_shard_features(*encoder, shards, options, context)
                                     : extract_features(*encoder, images, options, context);
  if (!context.main_process()) {
    return;
  }
  save_feature_file(config.output, set, config.fp16,
                    {{"pool", config.pool},
                     {"checkpoint", config.checkpoint},
                     {"model", frame.model},
                     {"input_size", std::to_string(frame.input_size)},
                     {"data_path", config.data_path}});
  log::info(text("Wrote ", set.features.size(0), " features of width ", set.features.size(1), " to ", config.output,
                 " (image paths: ", feature_paths_file(config.output), ")"));
  if (!config.knn_train.empty()) {
    evaluate_knn(load_feature_file(config.knn_train), config.knn_train, set, config.output, config);
  }
}

}  // namespace mae::jobs
