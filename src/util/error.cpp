#include "mae/util/error.h"

namespace mae {

int exit_code_for(const std::exception& error) noexcept {
  return dynamic_cast<const UsageError*>(&error) != nullptr ? kExitUsage : kExitFailure;
}

}  // namespace mae
