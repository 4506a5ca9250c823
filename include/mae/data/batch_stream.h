#pragma once
// What the training and evaluation loops read: batches in a fixed order per epoch, from an image folder (DataLoader)
// or from tar shards (ShardLoader).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mae::data {

struct Batch {
  at::Tensor images;  // [B, C, H, W] float32
  at::Tensor labels;  // [B] int64
  // Where each sample came from: its image file, or "<shard>:<key>" (what feature extraction writes beside its rows).
  std::vector<std::string> names;
};

class BatchStream {
 public:
  virtual ~BatchStream() = default;

  // Starts producing the batches of `epoch` from batch `first_batch` on (a preempted run's resume), stopping any
  // epoch still running. Batch N of an epoch is the same whether the epoch starts at 0 or at N.
  virtual void start_epoch(int64_t epoch, int64_t first_batch = 0) = 0;
  // The next batch in order, or nothing at the end of the epoch. Rethrows a worker's error.
  virtual std::optional<Batch> next() = 0;

  // The same on every rank of a job, so that the ranks step in lockstep.
  virtual int64_t batches_per_epoch() const = 0;
  // Whether this source reads one rank's part of the data (world_size > 1).
  virtual bool sharded() const = 0;
  // Images (or samples) that could not be read in the current epoch.
  virtual int64_t skipped_images() const = 0;
  // The loader workers the batch order depends on, which a resume mid-epoch must keep: shards are dealt to the
  // workers, so another count reads other samples; 0 where the order does not depend on them (an image folder's
  // sampler orders its images whatever the workers).
  virtual int order_workers() const { return 0; }
};

}  // namespace mae::data
