#include "mae/data/ordered_batches.h"

namespace mae::data {

void OrderedBatches::start(int workers, int64_t first, const std::function<void(int worker)>& work) {
  stop();
  workers_count_ = workers;
  next_ = first;
  for (int worker = 0; worker < workers; ++worker) {
    workers_.emplace_back([work, worker] { work(worker); });
  }
}

void OrderedBatches::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& worker : workers_) {
    worker.join();
  }
  workers_.clear();
  ready_.clear();
  stopping_ = false;
}

bool OrderedBatches::wait_turn(int64_t index) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return stopping_ || index < next_ + 2 * static_cast<int64_t>(workers_count_); });
  return !stopping_;
}

void OrderedBatches::put(int64_t index, std::optional<Batch> batch, std::exception_ptr error) {
  {
    const std::lock_guard lock(mutex_);
    ready_[index] = {std::move(batch), std::move(error)};
  }
  changed_.notify_all();
}

std::optional<Batch> OrderedBatches::take() {
  std::pair<std::optional<Batch>, std::exception_ptr> result;
  {
    std::unique_lock lock(mutex_);
    const int64_t wanted = next_;
    changed_.wait(lock, [&] { return ready_.contains(wanted); });
    result = std::move(ready_[wanted]);
    ready_.erase(wanted);
    ++next_;
  }
  changed_.notify_all();
  if (result.second) {
    std::rethrow_exception(result.second);
  }
  return std::move(result.first);
}

}  // namespace mae::data
