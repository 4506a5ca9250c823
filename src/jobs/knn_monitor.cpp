#include "mae/jobs/knn_monitor.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>

#include "mae/jobs/feature_encoder.h"
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
  data::ImageFolder train = data::training_images(config.knn_data_path, /*labelled=*/true);
  data::ImageFolder val = data::validation_images(config.knn_data_path, train);
  const std::size_t available = train.size();
  train = train.evenly_spaced(static_cast<std::size_t>(config.knn_max_train));
  if (const auto steps = smoke_steps()) {  // an evaluation of a smoke run reads at most that many batches a rank
    const auto images = static_cast<std::size_t>(*steps) * config.batch_size * context.world_size();
    train = train.evenly_spaced(images);
    val = val.evenly_spaced(images);
  }
  log::info(text("kNN monitor: every ", config.knn_eval_freq, " epochs, ", train.size(), " training images (of ",
                 available, ") and ", val.size(), " validation images in ", train.classes().size(),
                 " classes under ", config.knn_data_path, ", k ", config.knn_k, ", T ", config.knn_temperature, ", ",
                 config.knn_pool, " features"));
  models::VisionTransformer encoder{nullptr};
  {
    const CpuRandomStateGuard random_state;
    encoder = feature_encoder_of(mae);
  }
  encoder->to(context.device);
  return KnnMonitor(config, std::move(train), std::move(val), std::move(encoder));
}

KnnMonitor::KnnMonitor(const config::PretrainConfig& config, data::ImageFolder train, data::ImageFolder val,
                       models::VisionTransformer encoder)
    : every_(config.knn_eval_freq),
      epochs_(config.epochs),
      knn_{config.knn_k, config.knn_temperature, static_cast<int64_t>(train.classes().size())},
      train_(std::move(train)),
      val_(std::move(val)),
      encoder_(std::move(encoder)) {
  extraction_.pool = models::parse_feature_pool(config.knn_pool);
  extraction_.input_size = config.input_size;
  extraction_.in_chans = *config.in_chans;
  extraction_.batch_size = config.batch_size;
  extraction_.num_workers = config.num_workers;
  extraction_.strict_data = config.strict_data;
  extraction_.max_image_pixels = config.max_image_pixels;
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
