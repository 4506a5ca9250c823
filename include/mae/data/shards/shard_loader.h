#pragma once
// Training batches from WebDataset tar shards (docs/data.md, "Shards"): every epoch the shard list is shuffled from
// (seed, epoch) and dealt out to the job's (rank, loader worker) slots, so that each shard is read by exactly one of
// them; each worker streams its shards in turn through a shuffle buffer and builds whole batches, and the batches
// come out round-robin over the workers, so their order depends on neither the thread timing nor the worker count's
// speed. An epoch is a fixed number of batches on every rank (from the packer's index or --samples_per_epoch): a
// worker whose shards run out starts them again, and one with more leaves the rest unread, so no rank waits for
// another at the end of an epoch.
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mae/data/batch_stream.h"
#include "mae/data/loader_options.h"
#include "mae/data/ordered_batches.h"
#include "mae/data/augment/pipelines.h"
#include "mae/data/shards/skip_ledger.h"

namespace mae::data {

// <folder>/index.json, the packer's index (data/shards/shard_packer.h): the classes in label order and each shard's samples.
struct ShardIndex {
  std::string path;
  std::vector<std::string> classes;
  std::map<std::string, int64_t> samples;  // by shard file name
  int64_t total = 0;                       // samples of the shards named in the spec
};

// The index beside the shards (the folder of the first one) when they are files and it exists; nothing for pipe:
// shards or shards packed by another tool. A shard the index does not list is a UsageError naming it.
std::optional<ShardIndex> find_shard_index(const std::vector<std::string>& shards);

class ShardLoader final : public BatchStream {
 public:
  // UsageError when the epoch length is unknown (no index and no samples_per_epoch), when there are fewer shards
  // than ranks x workers (naming both numbers), or when an epoch holds no full batch (training). `index`: the shards'
  // index.json when the caller has read it already (DataSource); otherwise it is looked for where it is needed.
  ShardLoader(std::vector<std::string> shards, SampleTransform transform, LoaderOptions options,
              std::optional<ShardIndex> index = std::nullopt);
  ~ShardLoader() override;
  ShardLoader(const ShardLoader&) = delete;
  ShardLoader& operator=(const ShardLoader&) = delete;

  void start_epoch(int64_t epoch, int64_t first_batch = 0) override;
  std::optional<Batch> next() override;
  int64_t batches_per_epoch() const override;
  bool sharded() const override { return options_.world_size > 1; }
  // Distinct unreadable samples of the epoch (a failed shard's unread rest counts as one).
  int64_t skipped_images() const override { return ledger_.count(); }
  int order_workers() const override { return workers(); }

  // The shards worker `worker` of rank `rank` reads in `epoch`, in order (for tests and logs). Training deals the
  // epoch's order to the slots rank * workers + worker; evaluation deals shard i to rank i % world_size first, so
  // that the ranks share the shards evenly whatever the workers, then a rank's shards to its workers in turn.
  std::vector<std::string> shards_of(int64_t epoch, int rank, int worker) const;
  int workers() const { return std::max(options_.num_workers, 1); }
  int64_t samples_per_epoch() const { return samples_per_epoch_; }

 private:
  void worker_loop(int worker, int64_t epoch, int64_t first_batch);
  void plan_evaluation(std::optional<ShardIndex> index);
  // The batch indices worker `worker` makes, in order.
  std::vector<int64_t> batches_of(int worker) const;

  std::vector<std::string> shards_;
  SampleTransform transform_;
  LoaderOptions options_;
  int64_t samples_per_epoch_ = 0;
  std::vector<std::vector<int64_t>> evaluation_batches_;  // by worker
  int64_t evaluation_batch_count_ = 0;
  std::map<std::string, int64_t> indexed_samples_;  // index.json's count of each shard (by file name), when known
  SkipLedger ledger_;
  OrderedBatches batches_;  // last: its workers stop before the members they use go
};

}  // namespace mae::data
