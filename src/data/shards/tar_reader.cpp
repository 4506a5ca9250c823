#include "mae/data/shards/tar_reader.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::data {
namespace {

constexpr std::size_t kBlock = 512;
using Block = std::array<uint8_t, kBlock>;

// Offsets of the ustar header fields (POSIX.1-1988, pax).
constexpr std::size_t kNameAt = 0, kNameSize = 100;
constexpr std::size_t kSizeAt = 124, kSizeSize = 12;
constexpr std::size_t kChecksumAt = 148, kChecksumSize = 8;
constexpr std::size_t kTypeAt = 156;
constexpr std::size_t kMagicAt = 257;
constexpr std::size_t kPrefixAt = 345, kPrefixSize = 155;

// Read in pieces of this size, so that a size field larger than the stream (a damaged header) costs no more memory
// than the stream holds.
constexpr uint64_t kChunk = uint64_t{16} << 20;

std::string field_text(const Block& block, std::size_t at, std::size_t size) {
  const char* start = reinterpret_cast<const char*>(block.data() + at);
  return std::string(start, strnlen(start, size));
}

// An octal number as tar writes it: optional leading spaces, digits, then NUL or space (or the end of the field).
// nullopt when the field holds anything else.
std::optional<uint64_t> parse_octal(const Block& block, std::size_t at, std::size_t size) {
  std::size_t i = at;
  const std::size_t end = at + size;
  while (i < end && block[i] == ' ') {
    ++i;
  }
  uint64_t value = 0;
  std::size_t digits = 0;
  for (; i < end && block[i] >= '0' && block[i] <= '7'; ++i, ++digits) {
    if (value >> 61) {
      return std::nullopt;
    }
    value = value * 8 + (block[i] - '0');
  }
  if (digits == 0 || (i < end && block[i] != ' ' && block[i] != '\0')) {
    return std::nullopt;
  }
  return value;
}

// A number field: octal, or GNU's base-256 for values that do not fit (first byte 0x80, the rest big-endian).
std::optional<uint64_t> parse_number(const Block& block, std::size_t at, std::size_t size) {
  if (block[at] == 0x80) {
    uint64_t value = 0;
    for (std::size_t i = at + 1; i < at + size; ++i) {
      if (value >> 56) {
        return std::nullopt;
      }
      value = (value << 8) | block[i];
    }
    return value;
  }
  if (block[at] & 0x80) {  // negative base-256: no size can be
    return std::nullopt;
  }
  return parse_octal(block, at, size);
}

// The sum of the header's bytes with the checksum field counted as spaces. Historic tars summed signed chars;
// readers accept either, as GNU tar and Python do.
std::pair<uint64_t, int64_t> checksums(const Block& block) {
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (std::size_t i = 0; i < kBlock; ++i) {
    const uint8_t byte = (i >= kChecksumAt && i < kChecksumAt + kChecksumSize) ? uint8_t{' '} : block[i];
    unsigned_sum += byte;
    signed_sum += static_cast<int8_t>(byte);
  }
  return {unsigned_sum, signed_sum};
}

struct PaxRecords {
  std::optional<std::string> path;
  std::optional<uint64_t> size;
};

// "LENGTH KEY=VALUE\n" records, LENGTH counting the whole record. Only `path` and `size` matter here.
PaxRecords parse_pax(const std::vector<uint8_t>& data, const std::string& shard, uint64_t offset) {
  const std::string_view all(reinterpret_cast<const char*>(data.data()), data.size());
  const auto malformed = [&](std::size_t at) {
    return IoError(text("shard '", shard, "' has a malformed pax extended header at offset ", offset,
                        " (record at byte ", at, ")"));
  };
  PaxRecords records;
  std::size_t at = 0;
  while (at < all.size() && all[at] != '\0') {
    const std::size_t space = all.find(' ', at);
    if (space == std::string_view::npos || space == at || space - at > 18) {
      throw malformed(at);
    }
    std::size_t length = 0;
    for (std::size_t i = at; i < space; ++i) {
      if (all[i] < '0' || all[i] > '9') {
        throw malformed(at);
      }
      length = length * 10 + static_cast<std::size_t>(all[i] - '0');
    }
    if (length < space - at + 3 || length > all.size() - at || all[at + length - 1] != '\n') {
      throw malformed(at);
    }
    const std::string_view record = all.substr(space + 1, at + length - 1 - (space + 1));
    const std::size_t equals = record.find('=');
    if (equals == std::string_view::npos) {
      throw malformed(at);
    }
    const std::string_view key = record.substr(0, equals);
    const std::string_view value = record.substr(equals + 1);
    if (key == "path") {
      records.path = std::string(value);
    } else if (key == "size") {
      uint64_t size = 0;
      if (value.empty() || value.size() > 19 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        throw malformed(at);
      }
      for (char c : value) {
        size = size * 10 + static_cast<uint64_t>(c - '0');
      }
      records.size = size;
    }
    at += length;
  }
  return records;
}

std::string after(const std::string& previous) {
  return previous.empty() ? std::string("its first header") : text("after member '", previous, "'");
}

}  // namespace

TarReader::TarReader(ByteSource& source) : source_(source) {}

std::size_t TarReader::read_up_to(uint8_t* buffer, std::size_t size, const std::string& member) {
  std::size_t done = 0;
  try {
    while (done < size) {
      const std::size_t count = source_.read(buffer + done, size - done);
      if (count == 0) {
        break;
      }
      done += count;
    }
  } catch (const IoError& error) {
    // The source's own error (a pipe: command that failed, a read error) with where in the archive it struck.
    const uint64_t start = offset_;  // a header is read in one call: where it starts
    offset_ += done;
    throw IoError(text(error.what(), " (",
                       member.empty() ? text("while reading the header at offset ", start, ", ", after(previous_))
                       : member.front() == '(' ? text("while reading ", member.substr(1, member.size() - 2))
                                               : text("while reading member '", member, "'"),
                       ")"));
  }
  offset_ += done;
  return done;
}

std::vector<uint8_t> TarReader::read_data(uint64_t size, const std::string& member) {
  std::vector<uint8_t> bytes;
  uint64_t have = 0;
  while (have < size) {
    const uint64_t want = std::min(size - have, kChunk);
    bytes.resize(have + want);
    const std::size_t count = read_up_to(bytes.data() + have, want, member);
    have += count;
    if (count < want) {
      throw IoError(
          text("shard '", shard(), "' is truncated in member '", member, "': ", have, " of ", size, " bytes"));
    }
  }
  const std::size_t padding = (kBlock - size % kBlock) % kBlock;
  Block ignored;
  if (read_up_to(ignored.data(), padding, member) < padding) {
    throw IoError(text("shard '", shard(), "' is truncated in member '", member, "': its ", size,
                       " bytes are there, but not the padding to the next 512-byte block"));
  }
  return bytes;
}

void TarReader::skip_data(uint64_t size, const std::string& member) {
  const uint64_t padded = (size + kBlock - 1) / kBlock * kBlock;
  std::vector<uint8_t> buffer(static_cast<std::size_t>(std::min<uint64_t>(padded, 1 << 16)));
  for (uint64_t done = 0; done < padded;) {
    const std::size_t want = static_cast<std::size_t>(std::min<uint64_t>(padded - done, buffer.size()));
    const std::size_t count = read_up_to(buffer.data(), want, member);
    done += count;
    if (count < want) {
      throw IoError(text("shard '", shard(), "' is truncated in member '", member, "': ", std::min(done, size), " of ",
                         size, " bytes"));
    }
  }
}

void TarReader::drain() {
  std::vector<uint8_t> buffer(1 << 16);
  while (read_up_to(buffer.data(), buffer.size(), "(the rest of the stream after the end of the archive)") > 0) {
  }
}

std::optional<TarMember> TarReader::next() {
  if (ended_) {
    return std::nullopt;
  }
  // What 'L' and 'x' headers say about the header that follows them.
  std::optional<std::string> long_name;
  std::optional<uint64_t> pax_size;
  for (;;) {
    const uint64_t header_offset = offset_;
    Block block;
    const std::size_t count = read_up_to(block.data(), kBlock, "");
    if (count == 0) {
      if (header_offset == 0) {
        throw IoError(text("shard '", shard(), "' is empty (not a tar file)"));
      }
      ended_ = true;  // the end of the stream on a block boundary: an archive without the end blocks, as tar allows
      return std::nullopt;
    }
    if (count < kBlock) {
      throw IoError(text("shard '", shard(), "' is truncated in the header at offset ", header_offset, " (",
                         after(previous_), "): ", count, " of 512 bytes"));
    }
    if (std::all_of(block.begin(), block.end(), [](uint8_t byte) { return byte == 0; })) {
      ended_ = true;
      drain();
      return std::nullopt;
    }
    const auto stored = parse_octal(block, kChecksumAt, kChecksumSize);
    const auto [unsigned_sum, signed_sum] = checksums(block);
    if (!stored || (*stored != unsigned_sum && static_cast<int64_t>(*stored) != signed_sum)) {
      throw IoError(text("shard '", shard(), "' has a corrupt tar header at offset ", header_offset, " (",
                         after(previous_), "): checksum ", unsigned_sum, " does not match the stored ",
                         stored ? std::to_string(*stored) : std::string("(unreadable)"),
                         "; the shard is damaged or not a tar file"));
    }
    const char type = static_cast<char>(block[kTypeAt]);
    std::string name;
    if (long_name) {
      name = *long_name;
    } else {
      name = field_text(block, kNameAt, kNameSize);
      // The prefix field exists in POSIX ustar headers only ("ustar\0"); GNU's ("ustar  ") keep other data there.
      const std::string prefix = field_text(block, kPrefixAt, kPrefixSize);
      if (std::memcmp(block.data() + kMagicAt, "ustar\0", 6) == 0 && !prefix.empty()) {
        name = prefix + "/" + name;
      }
    }
    std::optional<uint64_t> size = pax_size;
    if (!size) {
      size = parse_number(block, kSizeAt, kSizeSize);
    }
    if (!size) {
      throw IoError(text("shard '", shard(), "' has a bad size field in the header of member '", name, "' at offset ",
                         header_offset, "; the shard is damaged"));
    }
    switch (type) {
      case '0':
      case '\0':
      case '7': {  // regular and contiguous files, as Python's tarfile
        TarMember member{name, read_data(*size, name)};
        previous_ = name;
        return member;
      }
      case 'L': {  // GNU: the next header's name
        const auto data = read_data(*size, "(GNU long name)");
        const auto* start = reinterpret_cast<const char*>(data.data());
        long_name = std::string(start, strnlen(start, data.size()));
        continue;
      }
      case 'x': {  // pax: records for the next header
        const auto records = parse_pax(read_data(*size, "(pax header)"), shard(), header_offset);
        if (records.path) {
          long_name = records.path;
        }
        if (records.size) {
          pax_size = records.size;
        }
        continue;
      }
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':  // links, devices, folders, FIFOs: no data follows, whatever the size field says (as Python reads it)
        break;
      case 'g':  // pax global records, and GNU's long link name (of the next header): nothing that matters here
      case 'K': skip_data(*size, type == 'g' ? "(pax global header)" : "(GNU long link name)"); continue;
      default:  // types unknown here (GNU sparse files, volume labels...): skipped with their data
        skip_data(*size, name);
        break;
    }
    long_name.reset();
    pax_size.reset();
  }
}

}  // namespace mae::data
