#include "mae/util/smoke_steps.h"

#include <charconv>
#include <cstdlib>
#include <string>

#include "mae/util/error.h"

namespace mae {

std::optional<int> smoke_steps() {
  const char* value = std::getenv("MAE_SMOKE_STEPS");
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  const std::string text(value);
  int steps = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), steps);
  if (error != std::errc() || end != text.data() + text.size() || steps < 1) {
    throw UsageError("MAE_SMOKE_STEPS='" + text + "' is not a positive number of steps (unset it for a real run)");
  }
  return steps;
}

}  // namespace mae
