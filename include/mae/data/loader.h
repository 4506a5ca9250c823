#pragma once
// A threaded data loader: worker threads decode and transform whole batches in parallel, a bounded queue keeps them
// at most a few batches ahead, and batches come out in sampler order whatever the number of workers.
#include <ATen/core/Tensor.h>

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "mae/data/batch_buffer_pool.h"
#include "mae/data/batch_stream.h"
#include "mae/data/ordered_batches.h"
#include "mae/data/image_folder.h"
#include "mae/data/image_header.h"
#include "mae/data/pipelines.h"

namespace mae::data {

struct LoaderOptions {
  int64_t batch_size = 64;
  int num_workers = 10;
  bool shuffle = true;      // DistributedSampler(shuffle=True) for training; sequential order for evaluation
  bool drop_last = true;    // the reference drops the last partial batch in training, keeps it in evaluation
  bool pin_memory = false;  // page-locked batches, used only when CUDA is available
  uint64_t seed = 0;
  int rank = 0;
  int world_size = 1;
  bool strict_data = false;  // an unreadable image stops the job instead of being skipped
  // Without strict_data, an unreadable image is skipped: in training the next readable image (with its label) takes
  // its place, so that batches keep their size; in evaluation (false) it is left out, so that accuracy counts only
  // images that were read.
  bool replace_unreadable = true;
  // An image whose header declares more pixels is unreadable, refused before decoding (image_header.h); 0: no limit.
  int64_t max_image_pixels = kPilPixelLimit;
  int64_t max_batches = 0;  // an epoch ends after this many batches; 0: all (MAE_SMOKE_STEPS sets it)
};

// DistributedSampler: a permutation from torch.randperm with a generator seeded seed + epoch (identity order
// without shuffle), padded by repeating its start to a multiple of world_size, then every world_size-th index from
// `rank`. Used in single-process runs too, so each epoch is shuffled anew (the reference's quirk Q2 fixed).
std::vector<int64_t> sampler_indices(int64_t dataset_size, int64_t epoch, uint64_t seed, int rank, int world_size,
                                     bool shuffle);

class DataLoader final : public BatchStream {
 public:
  DataLoader(ImageFolder dataset, SampleTransform transform, LoaderOptions options);
  ~DataLoader() override;
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Every sample's random transform depends only on the seed, the epoch and the sample, so batch N is the same
  // whether the epoch starts at 0 or at N.
  void start_epoch(int64_t epoch, int64_t first_batch = 0) override;
  std::optional<Batch> next() override;

  int64_t batches_per_epoch() const override;
  bool sharded() const override { return options_.world_size > 1; }
  // Images that could not be read in the current epoch (replaced or left out, as replace_unreadable says).
  int64_t skipped_images() const override { return skipped_; }

 private:
  Batch load_batch(int64_t batch_index);
  // Writes the sample into `out` and returns the index of the sample written (a replacement's, in training); none
  // when it was unreadable and left out.
  std::optional<std::size_t> load_sample(int64_t dataset_index, const at::Tensor& out);
  void worker_loop(int worker, int64_t first_batch);

  ImageFolder dataset_;
  SampleTransform transform_;
  LoaderOptions options_;
  int64_t epoch_ = 0;
  std::vector<int64_t> indices_;
  std::atomic<int64_t> skipped_{0};
  BatchBufferPool batch_buffers_;

  OrderedBatches batches_;  // last: its workers stop before the members they use go
};

}  // namespace mae::data
