#include "mae/data/shards/skip_ledger.h"

#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::data {

void SkipLedger::start_epoch(int64_t epoch) {
  const std::lock_guard lock(mutex_);
  epoch_ = epoch;
  skipped_.clear();
}

void SkipLedger::record(const std::string& id, const std::string& reason) {
  const std::lock_guard lock(mutex_);
  if (!skipped_.insert(id).second) {
    return;
  }
  const auto count = static_cast<int64_t>(skipped_.size());
  if (count <= kNamedPerEpoch) {
    log::warn(text("epoch ", epoch_, ": skipped ", reason, " (--strict_data stops instead)"));
  }
  if (count == kNamedPerEpoch) {
    log::warn(text("epoch ", epoch_, ": ", kNamedPerEpoch, " unreadable samples named; more are only counted, at the ",
                   "end of the epoch"));
  }
}

int64_t SkipLedger::count() const {
  const std::lock_guard lock(mutex_);
  return static_cast<int64_t>(skipped_.size());
}

void SkipLedger::warn_once(const std::string& id, const std::string& message) {
  const std::lock_guard lock(mutex_);
  if (warned_.insert(id).second) {
    log::warn(message);
  }
}

}  // namespace mae::data
