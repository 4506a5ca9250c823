#include "mae/jobs/extract.h"

#include <filesystem>

#include "mae/config/job_config.h"
#include "mae/config/tool_configs.h"
#include "mae/data/shard_list.h"
#include "mae/jobs/feature_encoder.h"
#include "mae/jobs/feature_extraction.h"
#include "mae/jobs/feature_file.h"
#include "mae/jobs/feature_knn.h"
#include "mae/jobs/job_data.h"
#include "mae/jobs/job_options.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::jobs {
namespace fs = std::filesystem;
namespace {

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

}  // namespace

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
  const bool from_shards = shards_at(config.data_path).has_value();
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
