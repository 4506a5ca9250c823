#pragma once
// The hand-off between a loader's worker threads and the training loop: workers make batches by index, each at most
// a few rounds ahead of the loop, and the loop takes them in index order whatever the thread timing. A worker's
// exception reaches the loop at the batch it was making. Both loaders (DataLoader, ShardLoader) run on it.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "mae/data/batch_stream.h"

namespace mae::data {

class OrderedBatches {
 public:
  OrderedBatches() = default;
  ~OrderedBatches() { stop(); }
  OrderedBatches(const OrderedBatches&) = delete;
  OrderedBatches& operator=(const OrderedBatches&) = delete;

  // Stops the running workers, then starts `workers` threads running work(worker); the loop's next batch is `first`.
  void start(int workers, int64_t first, const std::function<void(int worker)>& work);
  // Joins the workers without waiting for their epoch to end, and forgets the batches not taken.
  void stop();

  // For a worker: waits until batch `index` is fewer than two rounds of workers ahead of the loop's next batch; false
  // when the workers are being stopped (the worker returns).
  bool wait_turn(int64_t index);
  // For a worker: batch `index`, or the error that stopped it.
  void put(int64_t index, std::optional<Batch> batch, std::exception_ptr error = nullptr);

  // For the loop: the next batch once it is ready, rethrowing the error of the worker that made it.
  std::optional<Batch> take();
  // The index of the batch take() returns next; skip() moves past it without a worker (a loader without threads).
  int64_t next_index() const { return next_; }
  void skip() { ++next_; }

 private:
  int workers_count_ = 1;
  int64_t next_ = 0;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<int64_t, std::pair<std::optional<Batch>, std::exception_ptr>> ready_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace mae::data
