#pragma once
// engine_finetune.evaluate: the classifier on the validation set, plain cross-entropy, top-1 / top-5.
#include "mae/data/batch_stream.h"
#include "mae/distributed/gradient_sync.h"
#include "mae/jobs/run_context.h"
#include "mae/models/vit.h"

namespace mae::jobs {

struct EvalStats {
  double loss;
  double acc1;
  double acc5;
  int64_t images;   // evaluated (summed over the ranks with --dist_eval, whose sampler pads with repeats)
  int64_t skipped;  // unreadable, left out of the accuracy
};

// The loss meter averages batches, accuracy samples. The loader must leave unreadable images out
// (LoaderOptions::replace_unreadable false), so that the accuracy counts only images that were read. In a multi-process
// job rank 0's buffers (the linear probe's BatchNorm statistics) are first copied to every rank, as the reference's
// first forward of the DDP model does, so that all ranks evaluate the same model; with --dist_eval (a sharded `loader`)
// each rank evaluates its shard and the meters are summed over the ranks; without it every rank evaluates the whole
// set, as the reference.
EvalStats evaluate(models::VisionTransformer& model, data::BatchStream& loader, const RunContext& context,
                   const distributed::DataParallel& parallel);

}  // namespace mae::jobs
