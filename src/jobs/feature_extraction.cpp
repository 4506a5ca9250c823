#include "mae/jobs/feature_extraction.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cstdint>

#include "mae/data/loader.h"
#include "mae/data/pipelines.h"
#include "mae/data/shard_list.h"
#include "mae/data/shard_loader.h"
#include "mae/data/shard_source.h"
#include "mae/data/tar_samples.h"
#include "mae/engine/metric_logger.h"
#include "mae/models/autocast_scope.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::jobs {
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

}  // namespace mae::jobs
