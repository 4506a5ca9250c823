#include "mae/data/shards/tar_samples.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string_view>
#include <utility>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::data {
namespace {

bool is_image_extension(const std::string& extension) {
  static constexpr std::array<std::string_view, 4> kImages{"jpg", "jpeg", "png", "webp"};
  return std::find(kImages.begin(), kImages.end(), extension) != kImages.end();
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Python's int() of the text, for what a `.cls` holds: an optional sign and decimal digits, whitespace around.
std::optional<int64_t> parse_label(const std::vector<uint8_t>& bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && space(text.back())) {
    text.remove_suffix(1);
  }
  if (text.starts_with('+')) {
    text.remove_prefix(1);
  }
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// A member's text as an error shows it: at most 40 bytes, non-printable ones as '?'.
std::string shown(const std::vector<uint8_t>& bytes) {
  std::string text;
  for (std::size_t i = 0; i < bytes.size() && i < 40; ++i) {
    text += std::isprint(bytes[i]) ? static_cast<char>(bytes[i]) : '?';
  }
  return bytes.size() > 40 ? text + "..." : text;
}

}  // namespace

std::optional<KeyAndExtension> split_member_name(const std::string& name) {
  const std::size_t slash = name.rfind('/');
  const std::size_t base = slash == std::string::npos ? 0 : slash + 1;
  const std::size_t dot = name.find('.', base);
  if (dot == std::string::npos || dot == base) {
    return std::nullopt;
  }
  return KeyAndExtension{name.substr(0, dot), name.substr(dot + 1)};
}

TarSampleReader::TarSampleReader(ByteSource& source, TarSampleOptions options) : reader_(source), options_(options) {}

std::vector<std::pair<std::string, TarMember>> TarSampleReader::next_group(std::string& key) {
  std::vector<std::pair<std::string, TarMember>> group;
  for (;;) {
    std::optional<TarMember> member = pending_ ? std::exchange(pending_, std::nullopt) : reader_.next();
    if (!member) {
      return group;
    }
    const auto split = split_member_name(member->name);
    if (!split) {
      continue;
    }
    std::string extension = lower(split->extension);
    if (!group.empty()) {
      const bool repeated =
          std::any_of(group.begin(), group.end(), [&](const auto& in) { return in.first == extension; });
      if (split->key != key || repeated) {
        pending_ = std::move(member);
        return group;
      }
    } else {
      key = split->key;
    }
    group.emplace_back(std::move(extension), std::move(*member));
  }
}

std::optional<TarSample> TarSampleReader::next() {
  for (;;) {
    std::string key;
    auto group = next_group(key);
    if (group.empty()) {
      return std::nullopt;
    }
    ++samples_;
    TarSample sample;
    sample.key = key;
    sample.shard = shard();
    std::string image_member;
    std::string problem;
    for (auto& [extension, member] : group) {
      if (is_image_extension(extension)) {
        if (!image_member.empty()) {
          problem = text("sample '", key, "' has two images, '", image_member, "' and '", member.name, "'");
          break;
        }
        image_member = member.name;
        sample.image_extension = extension;
        sample.image = std::move(member.bytes);
      } else if (extension == "cls") {
        sample.label = parse_label(member.bytes);
        if (!sample.label) {
          problem = text("member '", member.name, "' is not an integer class index: '", shown(member.bytes), "'");
          break;
        }
        if (options_.num_classes > 0 && (*sample.label < 0 || *sample.label >= options_.num_classes)) {
          problem = text("member '", member.name, "' holds class ", *sample.label, ", not one of [0, ",
                         options_.num_classes, ") (--nb_classes ", options_.num_classes, ")");
          break;
        }
      }
    }
    if (problem.empty() && image_member.empty()) {
      std::vector<std::string> names;
      for (const auto& [extension, member] : group) {
        names.push_back(member.name);
      }
      problem = text("sample '", key, "' has no image (.jpg .jpeg .png .webp), only ", join(names, ", ", 5));
    }
    if (problem.empty() && options_.require_label && !sample.label) {
      problem = text("sample '", key, "' has no label (a .cls member)");
    }
    if (problem.empty()) {
      return sample;
    }
    std::string reason = text("shard '", shard(), "': ", problem);
    if (options_.strict) {
      throw IoError(reason);
    }
    skips_.push_back({key, std::move(reason)});
  }
}

}  // namespace mae::data
