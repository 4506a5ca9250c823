#pragma once
// A threaded data loader: worker threads decode and transform whole batches in parallel, a bounded queue keeps them
// at most a few batches ahead, and batches come out in sampler order whatever the number of workers.
#include <ATen/core/Tensor.h>

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "mae/data/folder/batch_buffer_pool.h"
#include "mae/data/batch_stream.h"
#include "mae/data/ordered_batches.h"
#include "mae/data/folder/image_folder.h"
#include "mae/data/loader_options.h"
#include "mae/data/augment/pipelines.h"

namespace mae::data {

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
