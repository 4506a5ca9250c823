#include "mae/util/strings.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

namespace mae {

std::string fixed(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

std::string scientific(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*e", digits, value);
  return buffer;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // One row of the Levenshtein table at a time.
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_match(std::string_view wrong, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::string_view::npos;
  for (const auto& candidate : candidates) {
    const std::size_t distance = edit_distance(wrong, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  // More than a third of the longer name changed is no longer a typo.
  const std::size_t longest = std::max(wrong.size(), best.size());
  return best_distance * 3 <= longest ? best : std::string{};
}

std::string join(const std::vector<std::string>& items, std::string_view separator, std::size_t max_shown) {
  std::string out;
  const std::size_t shown = std::min(items.size(), max_shown);
  for (std::size_t i = 0; i < shown; ++i) {
    if (i > 0) {
      out += separator;
    }
    out += items[i];
  }
  return shown < items.size() ? text(out, ", ... (", items.size(), " in all)") : out;
}

}  // namespace mae
