#include "mae/jobs/extract.h"

#include "mae/config/job_config.h"
#include "mae/config/tool_configs.h"
#include "mae/data/data_source.h"
#include "mae/jobs/feature_encoder.h"
#include "mae/jobs/feature_extraction.h"
#include "mae/jobs/feature_file.h"
#include "mae/jobs/feature_knn.h"
#include "mae/jobs/job_options.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::jobs {
namespace {

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
  const data::DataSource source = data::extraction_source(config.data_path);
  const RunContext context = make_run_context(frame, launch);
  if (source.from_shards() && context.world_size() > 1) {  // the features file names every row
    throw UsageError(text("extracting from shards runs in one process (", context.world_size(), " were started): ",
                          "start one, or extract from an image folder"));
  }
  encoder->to(context.device);
  log::info(text("Encoder of ", config.checkpoint, ": ", frame.model, ", ", models::describe(encoder->options().encoder),
                 " at ", frame.input_size, " px, ", config.pool, " features; ", source.describe(),
                 !source.classes().empty() ? text(" in ", source.classes().size(), " classes")
                 : source.from_shards()    ? " (no classes in index.json: no labels)"
                                           : " (no class folders: no labels)"));
  ExtractionOptions options;
  options.pool = models::parse_feature_pool(config.pool);
  options.input_size = frame.input_size;
  options.in_chans = static_cast<int>(encoder->options().encoder.in_chans);
  options.batch_size = config.batch_size;
  // Shards are read by one loader worker, so that the rows come in the shards' order (feature_extraction.h).
  options.num_workers = source.from_shards() ? 1 : config.num_workers;
  options.max_image_pixels = config.max_image_pixels;
  options.pipe_timeout = std::chrono::seconds(config.pipe_timeout);
  const FeatureSet set = extract_features(*encoder, source, options, context);
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
