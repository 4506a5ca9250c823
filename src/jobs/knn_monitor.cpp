#include "mae/jobs/knn_monitor.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>

#include "mae/jobs/feature_encoder.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/smoke_steps.h"
#include "mae/util/strings.h"

namespace mae::jobs {
namespace {

// Restores torch's default CPU generator when it goes: building the encoder copy draws its (overwritten) initial
// weights from it, and the MAE's training stream must not see that.
class CpuRandomStateGuard {
 public:
  CpuRandomStateGuard() : generator_(at::detail::getDefaultCPUGenerator()), state_(generator_.get_state()) {}
  ~CpuRandomStateGuard() { generator_.set_state(state_); }
  CpuRandomStateGuard(const CpuRandomStateGuard&) = delete;
  CpuRandomStateGuard& operator=(const CpuRandomStateGuard&) = delete;

 private:
  at::Generator generator_;
  at::Tensor state_;
};

}  // namespace

std::optional<KnnMonitor> KnnMonitor::create(const config::PretrainConfig& config, const models::MaeOptions& mae,
                                             const RunContext& context) {
  if (config.knn_eval_freq == 0) {
    return std::nullopt;
  }
  data::ClassificationSources sources = data::classification_sources(config.knn_data_path);
  const int64_t available = sources.train.size();
  const std::optional<int64_t> steps = smoke_steps();
  int64_t batches = 0;  // shards: the batches a rank reads of each set (a smoke run's); 0: all
  if (sources.train.from_shards()) {
    if (sources.train.classes().empty()) {
      throw UsageError(text("--knn_data_path '", config.knn_data_path, "': the shards' index.json names no classes; ",
                            "the kNN monitor needs labelled shards (mae_shard packs class folders with their labels)"));
    }
    // Shards hold their samples in the packed folder's class order, and only reading them all gives an evenly spaced
    // subset: so the monitor reads every training sample, and a larger set than --knn_max_train is refused.
    if (available > config.knn_max_train) {
      throw UsageError(text("--knn_data_path '", config.knn_data_path, "': the training shards hold ", available,
                            " samples, more than --knn_max_train ", config.knn_max_train, "; shards cannot be ",
                            "subsampled evenly without reading them all, so pack a subset of at most that many (an ",
                            "image folder is subsampled evenly) or raise --knn_max_train"));
    }
    batches = steps.value_or(0);  // an evaluation of a smoke run reads at most that many batches a rank
  } else {
    sources.train.folder = sources.train.folder.evenly_spaced(static_cast<std::size_t>(config.knn_max_train));
    if (steps) {
      const auto images = static_cast<std::size_t>(*steps) * config.batch_size * context.world_size();
      sources.train.folder = sources.train.folder.evenly_spaced(images);
      sources.val.folder = sources.val.folder.evenly_spaced(images);
    }
  }
  log::info(text("kNN monitor: every ", config.knn_eval_freq, " epochs, ", sources.train.size(),
                 " training images (of ", available, ") and ", sources.val.size(), " validation images in ",
                 sources.train.classes().size(), " classes under ", config.knn_data_path, ", k ", config.knn_k, ", T ",
                 config.knn_temperature, ", ", config.knn_pool, " features"));
  models::VisionTransformer encoder{nullptr};
  {
    const CpuRandomStateGuard random_state;
    encoder = feature_encoder_of(mae);
  }
  encoder->to(context.device);
  return KnnMonitor(config, std::move(sources), batches, std::move(encoder));
}

KnnMonitor::KnnMonitor(const config::PretrainConfig& config, data::ClassificationSources sources, int64_t batches,
                       models::VisionTransformer encoder)
    : every_(config.knn_eval_freq),
      epochs_(config.epochs),
      knn_{config.knn_k, config.knn_temperature, static_cast<int64_t>(sources.train.classes().size())},
      train_(std::move(sources.train)),
      val_(std::move(sources.val)),
      encoder_(std::move(encoder)) {
  extraction_.pool = models::parse_feature_pool(config.knn_pool);
  extraction_.input_size = config.input_size;
  extraction_.in_chans = *config.in_chans;
  extraction_.batch_size = config.batch_size;
  extraction_.num_workers = config.num_workers;
  extraction_.strict_data = config.strict_data;
  extraction_.max_image_pixels = config.max_image_pixels;
  extraction_.pipe_timeout = std::chrono::seconds(config.pipe_timeout);
  extraction_.max_batches = batches;
}

bool KnnMonitor::due(int64_t epoch) const { return (epoch + 1) % every_ == 0 || epoch + 1 == epochs_; }

engine::KnnResult KnnMonitor::evaluate(models::MaskedAutoencoderViTImpl& mae, const RunContext& context) {
  copy_encoder_weights(mae, *encoder_);
  extraction_.what = "kNN train features";
  const FeatureSet train = extract_features(*encoder_, train_, extraction_, context);
  extraction_.what = "kNN val features";
  const FeatureSet val = extract_features(*encoder_, val_, extraction_, context);
  const engine::KnnResult result = engine::knn_classify(train.features, *train.labels, val.features, *val.labels, knn_);
  log::info(engine::describe(result, knn_));
  return result;
}

}  // namespace mae::jobs
