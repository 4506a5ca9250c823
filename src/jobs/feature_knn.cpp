#include "mae/jobs/feature_knn.h"

#include "mae/config/tool_configs.h"
#include "mae/engine/knn.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::jobs {
namespace {

const at::Tensor& require_labels(const FeatureSet& set, const std::string& path) {
  if (!set.labels) {
    throw UsageError(text("'", path, "' has no labels (its images were not in class folders): the kNN classifier "
                          "needs labelled features"));
  }
  return *set.labels;
}

}  // namespace

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

}  // namespace mae::jobs
