#include "mae/data/shards/shard_list.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string_view>

#include "mae/data/shards/shard_source.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::data {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxExpansion = 10'000'000;

bool all_digits(std::string_view text) {
  return !text.empty() && text.size() <= 18 &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// The first brace of a text: what comes before it, its items (a list's, or a range's generated on request) and what
// follows it.
struct Brace {
  std::string prefix;
  std::string rest;
  std::vector<std::string> list;  // the items of {a,b,...}; empty for a range
  uint64_t from = 0;              // a range {from..to}, its numbers padded to `width` digits
  uint64_t to = 0;
  std::size_t width = 0;

  uint64_t size() const { return list.empty() ? to - from + 1 : list.size(); }
  std::string item(uint64_t index) const {
    if (!list.empty()) {
      return list[index];
    }
    std::string number = std::to_string(from + index);
    return number.size() < width ? std::string(width - number.size(), '0') + number : number;
  }
};

// Parses a range body FIRST..LAST into `brace`.
void parse_range(const std::string& body, const std::string& pattern, Brace& brace) {
  const std::size_t dots = body.find("..");
  const std::string first = dots == std::string::npos ? "" : body.substr(0, dots);
  const std::string last = dots == std::string::npos ? "" : body.substr(dots + 2);
  if (!all_digits(first) || !all_digits(last)) {
    throw UsageError(text("brace '{", body, "}' in '", pattern,
                          "' is neither a range of non-negative integers {first..last} nor a list {a,b,...}"));
  }
  brace.from = std::stoull(first);
  brace.to = std::stoull(last);
  if (brace.from > brace.to) {
    throw UsageError(
        text("brace '{", body, "}' in '", pattern, "' counts down; write the range as {", last, "..", first, "}"));
  }
  if (brace.to - brace.from >= kMaxExpansion) {
    throw UsageError(text("brace '{", body, "}' in '", pattern, "' expands to more than ", kMaxExpansion, " names"));
  }
  const bool padded = (first.size() > 1 && first[0] == '0') || (last.size() > 1 && last[0] == '0');
  brace.width = padded ? std::max(first.size(), last.size()) : 0;
}

// The first brace of `part` (of `pattern`, which errors name), or nullopt when it has none.
std::optional<Brace> first_brace(const std::string& part, const std::string& pattern) {
  const std::size_t open = part.find('{');
  const std::size_t stray_close = part.find('}');
  if (stray_close != std::string::npos && (open == std::string::npos || stray_close < open)) {
    throw UsageError(text("'", pattern, "' has a '}' without a '{' before it"));
  }
  if (open == std::string::npos) {
    return std::nullopt;
  }
  int depth = 0;
  std::size_t close = std::string::npos;
  std::vector<std::size_t> commas;  // at depth 1: the separators of this brace's items
  for (std::size_t i = open; i < part.size() && close == std::string::npos; ++i) {
    const char c = part[i];
    if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      close = i;
    } else if (c == ',' && depth == 1) {
      commas.push_back(i);
    }
  }
  if (close == std::string::npos) {
    throw UsageError(text("'", pattern, "' has a '{' without a matching '}'"));
  }
  Brace brace;
  brace.prefix = part.substr(0, open);
  brace.rest = part.substr(close + 1);
  if (commas.empty()) {
    parse_range(part.substr(open + 1, close - open - 1), pattern, brace);
  } else {
    std::size_t start = open + 1;
    commas.push_back(close);
    for (std::size_t end : commas) {
      brace.list.push_back(part.substr(start, end - start));
      start = end + 1;
    }
  }
  return brace;
}

// How many names `part` expands to, counted without making them (at most kMaxExpansion + 1).
uint64_t count_names(const std::string& part, const std::string& pattern) {
  const auto brace = first_brace(part, pattern);
  if (!brace) {
    return 1;
  }
  if (brace->list.empty()) {  // the range's items hold no braces: each is followed by the same expansions
    return std::min(brace->size() * count_names(brace->rest, pattern), kMaxExpansion + 1);
  }
  uint64_t total = 0;
  for (const std::string& item : brace->list) {
    total = std::min(total + count_names(item + brace->rest, pattern), kMaxExpansion + 1);
  }
  return total;
}

void expand(const std::string& part, const std::string& pattern, std::vector<std::string>& out) {
  const auto brace = first_brace(part, pattern);
  if (!brace) {
    out.push_back(part);
    return;
  }
  // An item and everything after the brace expand together, so that braces inside the item vary slower than those
  // after it, as in bash.
  for (uint64_t index = 0; index < brace->size(); ++index) {
    std::vector<std::string> tails;
    expand(brace->item(index) + brace->rest, pattern, tails);
    for (std::string& tail : tails) {
      out.push_back(brace->prefix + tail);
    }
  }
}

std::string trimmed(const std::string& line) {
  const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  const auto begin = std::find_if_not(line.begin(), line.end(), space);
  const auto end = std::find_if_not(line.rbegin(), line.rend(), space).base();
  return begin < end ? std::string(begin, end) : std::string();
}

std::vector<std::string> read_list(const std::string& list_path) {
  std::ifstream file(list_path);
  std::error_code error;
  if (!file || fs::is_directory(list_path, error)) {
    throw UsageError(text("cannot read the shard list '", list_path, "' (",
                          fs::exists(list_path, error) ? "unreadable" : "no such file", "; check --data_path)"));
  }
  const fs::path folder = fs::path(list_path).parent_path();
  std::vector<std::string> shards;
  std::string line;
  while (std::getline(file, line)) {
    line = trimmed(line);
    if (line.empty() || line[0] == '#') {
      continue;
    }
    if (is_pipe_url(line) || fs::path(line).is_absolute()) {
      shards.push_back(line);
    } else {
      shards.push_back((folder / line).string());
    }
  }
  if (file.bad()) {
    throw UsageError(text("cannot read the shard list '", list_path, "' to its end"));
  }
  return shards;
}

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.ends_with(suffix);
}

// The `.tar` files directly in `folder`, sorted by name; none when it cannot be listed.
std::vector<std::string> tar_files_in(const fs::path& folder) {
  std::vector<std::string> names;
  std::error_code error;
  fs::directory_iterator entries(folder, error);
  for (; !error && entries != fs::directory_iterator(); entries.increment(error)) {
    std::error_code status_error;
    if (entries->path().extension() == ".tar" && entries->is_regular_file(status_error)) {
      names.push_back(entries->path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> paths;
  for (const auto& name : names) {
    paths.push_back((folder / name).string());
  }
  return paths;
}

}  // namespace

bool is_shard_spec(const std::string& data_path) {
  if (is_pipe_url(data_path) || ends_with(data_path, ".tar") || ends_with(data_path, ".txt")) {
    return true;
  }
  std::error_code error;
  return fs::is_directory(data_path, error) && !tar_files_in(data_path).empty();
}

std::vector<std::string> expand_braces(const std::string& pattern) {
  if (count_names(pattern, pattern) > kMaxExpansion) {
    throw UsageError(text("'", pattern, "' expands to more than ", kMaxExpansion, " names"));
  }
  std::vector<std::string> names;
  expand(pattern, pattern, names);
  return names;
}

std::vector<std::string> expand_shard_spec(const std::string& data_path) {
  std::vector<std::string> shards;
  std::error_code error;
  if (is_pipe_url(data_path)) {
    shards = expand_braces(data_path);
  } else if (ends_with(data_path, ".txt")) {
    shards = read_list(data_path);
  } else if (fs::is_directory(data_path, error)) {
    shards = tar_files_in(data_path);
  } else if (ends_with(data_path, ".tar")) {
    shards = expand_braces(data_path);
  } else {
    throw UsageError(text("--data_path '", data_path,
                          "' names no shards (expected a .tar path or brace pattern, a .txt list of shards, a folder "
                          "of .tar files, or a pipe: URL)"));
  }
  if (shards.empty()) {
    throw UsageError(text("--data_path '", data_path, "' names no shard (",
                          ends_with(data_path, ".txt") ? "the list has no entry" : "no .tar file in the folder", ")"));
  }
  return shards;
}

}  // namespace mae::data
