#pragma once
// How a training or evaluation loop reads its data, from an image folder (DataLoader) or tar shards (ShardLoader):
// one set of options for both, so that a job fills it once whatever --data_path holds.
#include <chrono>
#include <cstdint>

#include "mae/data/image/image_header.h"

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

  // Tar shards (ShardLoader) only. With drop_last false a ShardLoader evaluates: every sample of this rank's shards
  // once (shard i is rank i % world_size's, and a rank's shards go to its workers in turn), in the listed order with
  // no shuffling, each worker's last batch partial, an unreadable sample left out; the batch count comes from
  // index.json, which it needs.
  // Without --dist_eval, give rank 0 of 1 so that every rank reads all. shuffle and replace_unreadable do not apply.
  int64_t shuffle_buffer = 1000;  // samples each worker holds to shuffle across shard boundaries; 0 or 1: none
  // Samples an epoch covers, all ranks together (each rank reads samples_per_epoch / world_size); 0: the index's.
  int64_t samples_per_epoch = 0;
  bool require_labels = false;  // classification: a sample without .cls is unreadable
  int64_t num_classes = 0;      // classification: a .cls outside [0, num_classes) is unreadable; 0: unchecked
  // A pipe: shard whose command writes nothing for this long is killed and counts as unreadable (shard_source.h).
  std::chrono::seconds pipe_timeout{300};
};

}  // namespace mae::data
