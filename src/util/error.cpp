#include "mae/util/error.h"

namespace mae {

int exit_code_for(const std::exception& error) noexcept {
  if (dynamic_cast<const UsageError*>(&error) != nullptr) {
    return kExitUsage;
  }
  return dynamic_cast<const Preempted*>(&error) != nullptr ? kExitPreempted : kExitFailure;
}

}  // namespace mae
