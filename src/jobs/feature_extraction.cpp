#include "mae/jobs/feature_extraction.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <numeric>

#include "mae/data/augment/pipelines.h"
#include "mae/engine/metric_logger.h"
#include "mae/models/autocast_scope.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::jobs {
namespace {

// This rank's rows `local` go to rows `positions` (ascending) of the whole [total, width] matrix, on every rank: each
// chunk of it is zero except this rank's rows, and the sum over the ranks puts every row in place; chunks bound the
// device memory.
at::Tensor place_rows(const at::Tensor& local, const std::vector<int64_t>& positions, int64_t total,
                      const RunContext& context) {
  const int64_t width = local.size(1);
  const int64_t rows_per_chunk = std::max<int64_t>(1, (int64_t{64} << 20) / (width * local.element_size()));
  at::Tensor all = at::empty({total, width}, local.options());
  for (int64_t begin = 0; begin < total; begin += rows_per_chunk) {
    const int64_t end = std::min(total, begin + rows_per_chunk);
    at::Tensor chunk = at::zeros({end - begin, width}, local.options().device(context.device));
    const auto first = std::lower_bound(positions.begin(), positions.end(), begin) - positions.begin();
    const auto last = std::lower_bound(positions.begin(), positions.end(), end) - positions.begin();
    if (last > first) {
      const at::Tensor where =
          at::tensor(std::vector<int64_t>(positions.begin() + first, positions.begin() + last), at::kLong) - begin;
      chunk.index_copy_(0, where.to(context.device), local.slice(0, first, last).to(context.device));
    }
    context.communicator->all_reduce_sum(chunk, "gathering extracted features");
    all.slice(0, begin, end).copy_(chunk.cpu());
  }
  return all;
}

// Where this rank's rows go in the whole set. A folder: rank r's j-th row is image r + j * world_size
// (DistributedSampler without shuffle; rows past the end are its padding and are dropped). Shards: the ranks' rows
// one after the other, which needs every rank's count.
std::vector<int64_t> row_positions(const data::DataSource& source, int64_t rows, int64_t& total,
                                   const RunContext& context) {
  const int64_t world = context.world_size();
  const int64_t rank = context.rank();
  std::vector<int64_t> positions;
  if (!source.from_shards()) {
    total = source.size();
    for (int64_t row = 0; row < rows && rank + row * world < total; ++row) {  // the padding's rows are dropped
      positions.push_back(rank + row * world);
    }
    return positions;
  }
  std::vector<double> counts(static_cast<std::size_t>(world), 0.0);
  counts[static_cast<std::size_t>(rank)] = static_cast<double>(rows);
  context.communicator->all_reduce_sum(counts, "counting extracted features");
  const auto before = static_cast<int64_t>(std::accumulate(counts.begin(), counts.begin() + rank, 0.0));
  total = static_cast<int64_t>(std::accumulate(counts.begin(), counts.end(), 0.0));
  positions.resize(static_cast<std::size_t>(rows));
  std::iota(positions.begin(), positions.end(), before);
  return positions;
}

// How the extraction reads `source`: in order, every image once, this rank's part.
data::LoaderOptions extraction_loading(const data::DataSource& source, const ExtractionOptions& options,
                                       const RunContext& context) {
  data::LoaderOptions loading;
  loading.batch_size = options.batch_size;
  loading.num_workers = options.num_workers;
  loading.shuffle = false;
  loading.drop_last = false;  // shards: the evaluation mode
  loading.pin_memory = context.device.is_cuda();
  loading.rank = context.rank();
  loading.world_size = context.world_size();
  loading.strict_data = options.strict_data;
  loading.replace_unreadable = true;  // a folder without strict_data: every row stays filled
  loading.max_image_pixels = options.max_image_pixels;
  loading.pipe_timeout = options.pipe_timeout;
  loading.require_labels = !source.classes().empty();
  loading.num_classes = static_cast<int64_t>(source.classes().size());
  loading.max_batches = source.from_shards() ? options.max_batches : 0;
  return loading;
}

}  // namespace

FeatureSet extract_features(models::VisionTransformerImpl& encoder, const data::DataSource& source,
                            const ExtractionOptions& options, const RunContext& context) {
  const std::unique_ptr<data::BatchStream> loader = data::open_batches(
      source, data::eval_transform(options.input_size, options.in_chans), extraction_loading(source, options, context));

  const c10::NoGradGuard no_grad;
  encoder.eval();
  loader->start_epoch(0);
  engine::MetricLogger progress(text(options.what, ":"), loader->batches_per_epoch(), 20, context.device);
  std::vector<at::Tensor> rows;
  std::vector<at::Tensor> labels;
  FeatureSet set;
  for (int64_t step = 0; step < loader->batches_per_epoch(); ++step) {
    auto batch = loader->next();
    progress.batch_loaded();
    if (batch->images.size(0) == 0) {  // shards: every sample of the batch unreadable, or fewer than the index said
      progress.iteration_done(step);
      continue;
    }
    const models::AutocastScope autocast(context.device.type(), context.precision.autocast);
    const at::Tensor pooled =
        models::pooled_features(encoder, batch->images.to(context.device, /*non_blocking=*/true), options.pool);
    rows.push_back(pooled.to(at::kFloat).cpu());
    if (source.from_shards()) {  // a folder's rows are its list's (below)
      labels.push_back(batch->labels);
      std::move(batch->names.begin(), batch->names.end(), std::back_inserter(set.paths));
    }
    progress.iteration_done(step);
  }
  progress.finish();
  if (loader->skipped_images() > 0) {
    log::warn(text(options.what, ": ", loader->skipped_images(), " unreadable image(s) ",
                   source.from_shards() ? "left out" : "replaced by the next readable one"));
  }

  const at::Tensor local =
      rows.empty() ? at::empty({0, encoder.options().encoder.embed_dim}, at::kFloat) : at::cat(rows);
  set.classes = source.classes();
  const bool labelled = !set.classes.empty();
  at::Tensor local_labels = labels.empty() ? at::empty({0}, at::kLong) : at::cat(labels);
  set.features = local;
  if (context.communicator && context.world_size() > 1) {  // torchrun joins a group even for one process
    int64_t total = 0;
    const std::vector<int64_t> positions = row_positions(source, local.size(0), total, context);
    set.features = place_rows(local, positions, total, context);
    if (source.from_shards() && labelled) {
      local_labels = place_rows(local_labels.unsqueeze(1), positions, total, context).squeeze(1);
    }
    set.paths.clear();  // from shards no rank has every name (feature_extraction.h); a folder's come below
  }
  if (source.from_shards()) {  // the labels the batches carry
    set.labels = labelled ? std::optional(local_labels) : std::nullopt;
  } else {  // the folder's own list, whatever replaced an unreadable image
    std::vector<int64_t> folder_labels;
    for (const auto& sample : source.folder.samples()) {
      set.paths.push_back(sample.path);
      folder_labels.push_back(sample.label);
    }
    if (labelled) {
      set.labels = at::tensor(folder_labels, at::kLong);
    }
  }
  if (set.features.size(0) == 0) {
    throw UsageError(text(source.describe(), ": no sample to extract"));
  }
  return set;
}

}  // namespace mae::jobs
