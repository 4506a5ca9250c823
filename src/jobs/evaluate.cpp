#include "mae/jobs/evaluate.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "mae/engine/losses.h"
#include "mae/engine/metric_logger.h"
#include "mae/models/autocast_scope.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::jobs {

EvalStats evaluate(models::VisionTransformer& model, data::BatchStream& loader, const RunContext& context,
                   const distributed::DataParallel& parallel) {
  const c10::NoGradGuard no_grad;
  model->eval();
  parallel.broadcast_buffers();
  loader.start_epoch(0);
  engine::MetricLogger logger("Test:", loader.batches_per_epoch(), 10, context.device);
  // Every rank has the same meters, in the same order, even when none of its batches held a readable image: their
  // reduction over the ranks must pair up.
  for (const char* meter : {"loss", "acc1", "acc5"}) {
    logger.add_meter(meter, engine::SmoothedValue());
  }
  std::vector<double> counts{0.0, 0.0};  // images evaluated, images left out (unreadable)
  for (int64_t step = 0; step < loader.batches_per_epoch(); ++step) {
    auto batch = loader.next();
    logger.batch_loaded();
    counts[0] += static_cast<double>(batch->images.size(0));
    if (batch->images.size(0) == 0) {  // every image of the batch was unreadable
      logger.iteration_done(step);
      continue;
    }
    const at::Tensor images = batch->images.to(context.device);
    const at::Tensor labels = batch->labels.to(context.device);
    at::Tensor logits;
    {
      const models::AutocastScope autocast(context.device.type(), context.precision.autocast);
      logits = model->forward(images);
    }
    logits = logits.to(at::kFloat);
    const auto [acc1, acc5] = engine::top1_top5(logits, labels);
    logger.update("loss", at::cross_entropy_loss(logits, labels).item<double>());
    logger.update("acc1", acc1, images.size(0));
    logger.update("acc5", acc5, images.size(0));
    logger.iteration_done(step);
  }
  logger.finish();
  counts[1] = static_cast<double>(loader.skipped_images());
  if (parallel.active() && loader.sharded()) {
    logger.synchronize([&](std::vector<double>& values) { parallel.sum(values, "reduction of the test metrics"); });
    parallel.sum(counts, "reduction of the test image counts");
  }
  const EvalStats stats{logger.global_average("loss"), logger.global_average("acc1"), logger.global_average("acc5"),
                        static_cast<int64_t>(counts[0]), static_cast<int64_t>(counts[1])};
  log::info(text("* Acc@1 ", fixed(stats.acc1, 3), " Acc@5 ", fixed(stats.acc5, 3), " loss ", fixed(stats.loss, 3)));
  if (stats.skipped > 0) {
    log::warn(text(stats.skipped, " unreadable validation images were left out: the accuracy is over the ",
                   stats.images, " that were read"));
  }
  return stats;
}

}  // namespace mae::jobs
