#pragma once
// The unreadable samples of a shard loader's epoch. Each is counted once, however often the epoch meets it (a
// training stream reads its shards round and round), and the first kNamedPerEpoch are named in the log with their
// reason, as docs/data.md promises; the rest are counted only. Also says once per loader that a shard holds another
// number of samples than index.json claims. Every loader worker records into one ledger: it is thread-safe.
#include <cstdint>
#include <mutex>
#include <set>
#include <string>

namespace mae::data {

class SkipLedger {
 public:
  inline static constexpr int64_t kNamedPerEpoch = 5;

  // Forgets the samples of the epoch before.
  void start_epoch(int64_t epoch);
  // The sample `id` ("<shard>:<key>", or "<shard>" for the unread rest of a shard that failed) was skipped for
  // `reason`, which names it. Counted and named the first time in the epoch.
  void record(const std::string& id, const std::string& reason);
  // Distinct samples skipped in the epoch.
  int64_t count() const;
  // Logs `message` as a warning the first time `id` is given to this ledger (in any epoch).
  void warn_once(const std::string& id, const std::string& message);

 private:
  mutable std::mutex mutex_;
  int64_t epoch_ = 0;
  std::set<std::string> skipped_;
  std::set<std::string> warned_;
};

}  // namespace mae::data
