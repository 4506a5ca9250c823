#pragma once
// Small string helpers used across layers.
#include <cstddef>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace mae {

// Concatenates anything streamable (c10::str would be found by ADL for torch types, hence the other name): text("epoch ", 3, ", loss ", 0.5).
template <typename... Parts>
std::string text(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

// printf's "%.<digits>f" and "%.<digits>e": the reference's Python format specs {:.4f} and %.2e.
std::string fixed(double value, int digits);
std::string scientific(double value, int digits);

// The items with `separator` between them; beyond `max_shown` items, ", ... (N in all)" ends the list.
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ",
                 std::size_t max_shown = static_cast<std::size_t>(-1));

// Number of single-character insertions, deletions and substitutions that turn a into b.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `wrong` by edit distance, or "" when none is plausibly a misspelling of it.
std::string closest_match(std::string_view wrong, const std::vector<std::string>& candidates);

}  // namespace mae
