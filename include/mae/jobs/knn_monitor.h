#pragma once
// mae_pretrain --knn_eval_freq N: the weighted kNN accuracy of the encoder being trained, every N epochs, as a sign of
// the representation's quality long before the run ends. It reads <knn_data_path>/train (at most --knn_max_train
// images, evenly spaced; labelled tar shards are read whole and may hold no more) and /val through the evaluation
// transform, each rank its part, with a copy of the encoder:
// no gradient, no effect on the MAE's modules, and torch's random state restored, so that a run with the monitor
// trains exactly as one without.
#include <optional>

#include "mae/config/job_config.h"
#include "mae/data/data_source.h"
#include "mae/engine/knn.h"
#include "mae/jobs/feature_extraction.h"
#include "mae/jobs/run_context.h"
#include "mae/models/mae.h"

namespace mae::jobs {

class KnnMonitor {
 public:
  // Finds both sets (a UsageError now, not after the first epochs, when they do not fit), or nothing when
  // --knn_eval_freq is 0.
  static std::optional<KnnMonitor> create(const config::PretrainConfig& config, const models::MaeOptions& mae,
                                          const RunContext& context);

  // After epoch `epoch`: every knn_eval_freq epochs ((epoch + 1) % N == 0) and after the last.
  bool due(int64_t epoch) const;

  // The current encoder's kNN accuracy (every rank takes part; every rank gets the result).
  engine::KnnResult evaluate(models::MaskedAutoencoderViTImpl& mae, const RunContext& context);

 private:
  KnnMonitor(const config::PretrainConfig& config, data::ClassificationSources sources, int64_t batches,
             models::VisionTransformer encoder);

  int64_t every_;
  int64_t epochs_;
  engine::KnnOptions knn_;
  ExtractionOptions extraction_;
  data::DataSource train_;
  data::DataSource val_;
  models::VisionTransformer encoder_;
};

}  // namespace mae::jobs
