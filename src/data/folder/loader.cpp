#include "mae/data/folder/loader.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <algorithm>
#include <bit>
#include <numeric>

#include "mae/data/image/image_io.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::data {

std::vector<int64_t> sampler_indices(int64_t dataset_size, int64_t epoch, uint64_t seed, int rank, int world_size,
                                     bool shuffle) {
  std::vector<int64_t> order(static_cast<std::size_t>(dataset_size));
  if (shuffle) {
    // torch.randperm(n, generator=g) with g.manual_seed(seed + epoch): the same ATen kernel and generator.
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed + static_cast<uint64_t>(epoch));
    const at::Tensor permutation = at::randperm(dataset_size, generator, at::TensorOptions().dtype(at::kLong));
    std::copy_n(permutation.data_ptr<int64_t>(), dataset_size, order.begin());
  } else {
    std::iota(order.begin(), order.end(), int64_t{0});
  }
  const int64_t per_rank = (dataset_size + world_size - 1) / world_size;
  const int64_t total = per_rank * world_size;
  for (int64_t i = dataset_size; i < total; ++i) {  // pad by repeating the start
    order.push_back(order[static_cast<std::size_t>((i - dataset_size) % dataset_size)]);
  }
  std::vector<int64_t> mine;
  for (int64_t i = rank; i < total; i += world_size) {
    mine.push_back(order[static_cast<std::size_t>(i)]);
  }
  return mine;
}

namespace {

// Batches alive at once: up to two rounds queued and one being made per worker, and the consumer's.
std::size_t batches_in_flight(int num_workers) { return 3 * static_cast<std::size_t>(std::max(num_workers, 0)) + 2; }

}  // namespace

DataLoader::DataLoader(ImageFolder dataset, SampleTransform transform, LoaderOptions options)
    : dataset_(std::move(dataset)),
      transform_(std::move(transform)),
      options_(options),
      batch_buffers_(batches_in_flight(options.num_workers)) {
  if (options_.batch_size < 1 || options_.num_workers < 0) {
    throw UsageError("the loader needs batch_size >= 1 and num_workers >= 0");
  }
  if (options_.pin_memory && at::globalContext().hasCUDA()) {
    // The bound of batch_buffer_pool.h: every batch in flight, and two more whose copies may still be pending, each
    // in a power-of-two block of ATen's caching host allocator.
    const auto& shape = transform_.shape;
    const auto bytes = static_cast<uint64_t>(options_.batch_size * shape[0] * shape[1] * shape[2]) * sizeof(float);
    const uint64_t block = std::bit_ceil(bytes);
    const uint64_t blocks = batches_in_flight(options_.num_workers) + 2;
    log::info(text("pinned memory for batches: at most ", blocks, " x ", block >> 20, " MiB = ",
                   fixed(static_cast<double>(blocks * block) / (1 << 30), 1), " GiB (--num_workers sets it)"));
  }
}

DataLoader::~DataLoader() { batches_.stop(); }

int64_t DataLoader::batches_per_epoch() const {
  const auto samples = static_cast<int64_t>(
      (dataset_.size() + static_cast<std::size_t>(options_.world_size) - 1) / static_cast<std::size_t>(options_.world_size));
  const int64_t batches =
      options_.drop_last ? samples / options_.batch_size : (samples + options_.batch_size - 1) / options_.batch_size;
  return options_.max_batches > 0 ? std::min(batches, options_.max_batches) : batches;
}

void DataLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  batches_.stop();
  if (first_batch < 0 || first_batch > batches_per_epoch()) {
    throw Error(text("an epoch of ", batches_per_epoch(), " batches cannot start at batch ", first_batch));
  }
  epoch_ = epoch;
  indices_ = sampler_indices(static_cast<int64_t>(dataset_.size()), epoch, options_.seed, options_.rank,
                             options_.world_size, options_.shuffle);
  skipped_ = 0;
  batches_.start(options_.num_workers, first_batch, [this, first_batch](int worker) { worker_loop(worker, first_batch); });
}

std::optional<std::size_t> DataLoader::load_sample(int64_t dataset_index, const at::Tensor& out) {
  for (std::size_t attempt = 0; attempt < dataset_.size(); ++attempt) {
    const auto index = static_cast<std::size_t>((dataset_index + static_cast<int64_t>(attempt)) %
                                                static_cast<int64_t>(dataset_.size()));
    const Sample& sample = dataset_.samples()[index];
    try {
      // A JPEG is decoded by the transform (only its crop), so decoding errors surface there too.
      const EncodedImage image = EncodedImage::open(sample.path, options_.max_image_pixels);
      Rng rng(options_.seed, static_cast<uint64_t>(epoch_), index);
      transform_.fill(image, rng, out);
      return index;
    } catch (const IoError& error) {
      if (options_.strict_data) {
        throw;
      }
      ++skipped_;
      log::warn(text(error.what(), "; skipped (--strict_data makes this an error)"));
      if (!options_.replace_unreadable) {
        return std::nullopt;
      }
    }
  }
  throw IoError(text("no image under '", dataset_.root(), "' could be read"));
}

Batch DataLoader::load_batch(int64_t batch_index) {
  const int64_t begin = batch_index * options_.batch_size;
  const int64_t end = std::min<int64_t>(begin + options_.batch_size, static_cast<int64_t>(indices_.size()));
  const bool pin = options_.pin_memory && at::globalContext().hasCUDA();
  const auto& shape = transform_.shape;
  // Each sample is written straight into the next free slot of the batch; a sample left out leaves the batch shorter.
  at::Tensor images = batch_buffers_.acquire({end - begin, shape[0], shape[1], shape[2]}, pin);
  at::Tensor labels = at::empty({end - begin}, at::TensorOptions().dtype(at::kLong));
  int64_t* label = labels.data_ptr<int64_t>();
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(end - begin));
  int64_t filled = 0;
  for (int64_t i = begin; i < end; ++i) {
    if (const auto written = load_sample(indices_[static_cast<std::size_t>(i)], images[filled])) {
      const Sample& sample = dataset_.samples()[*written];
      label[filled++] = sample.label;
      names.push_back(sample.path);
    }
  }
  if (filled < end - begin) {
    return {images.narrow(0, 0, filled), labels.narrow(0, 0, filled), std::move(names)};
  }
  return {images, labels, std::move(names)};
}

void DataLoader::worker_loop(int worker, int64_t first_batch) {
  // Worker w makes batches first + w, first + w + W, ...
  const int64_t workers = options_.num_workers;
  for (int64_t batch = first_batch + worker; batch < batches_per_epoch(); batch += workers) {
    if (!batches_.wait_turn(batch)) {
      return;
    }
    try {
      batches_.put(batch, load_batch(batch));
    } catch (...) {
      batches_.put(batch, std::nullopt, std::current_exception());
    }
  }
}

std::optional<Batch> DataLoader::next() {
  if (batches_.next_index() >= batches_per_epoch()) {
    return std::nullopt;
  }
  if (options_.num_workers == 0) {
    const int64_t wanted = batches_.next_index();
    batches_.skip();
    return load_batch(wanted);
  }
  return batches_.take();
}

}  // namespace mae::data
