#include "mae/data/shards/tar_writer.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::data {
namespace {

constexpr std::size_t kBlock = 512;
constexpr std::size_t kRecord = 20 * kBlock;  // tar's default blocking factor, which tarfile uses too
constexpr std::size_t kNameSize = 100;
constexpr uint64_t kMaxSize = (uint64_t{1} << 33) - 1;    // 11 octal digits
constexpr const char* kPaxHeaderName = "././@PaxHeader";  // what Python's tarfile calls its pax headers

using Block = std::array<char, kBlock>;

// `digits` octal digits and a NUL, the form of tar's number fields (the value fits: callers check sizes).
void put_octal(Block& header, std::size_t at, std::size_t digits, uint64_t value) {
  for (std::size_t i = digits; i-- > 0; value >>= 3) {
    header[at + i] = static_cast<char>('0' + (value & 7));
  }
  header[at + digits] = '\0';
}

Block ustar_header(const std::string& name, char type, uint64_t size, unsigned mode) {
  Block header{};
  std::memcpy(header.data(), name.data(), std::min(name.size(), kNameSize));
  put_octal(header, 100, 7, mode);
  put_octal(header, 108, 7, 0);  // uid
  put_octal(header, 116, 7, 0);  // gid
  put_octal(header, 124, 11, size);
  put_octal(header, 136, 11, 0);  // mtime
  header[156] = type;
  std::memcpy(header.data() + 257, "ustar", 6);  // POSIX magic with its NUL, then the version
  std::memcpy(header.data() + 263, "00", 2);
  // uname, gname, devmajor and devminor stay empty (NUL), as Python's tarfile leaves them for a regular file.
  // The checksum: the sum of the header's bytes with its own field as spaces, written as 6 digits, NUL, space.
  std::memset(header.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (char byte : header) {
    sum += static_cast<uint8_t>(byte);
  }
  put_octal(header, 148, 6, sum);
  header[155] = ' ';
  return header;
}

// A pax record "LENGTH path=NAME\n", LENGTH counting itself.
std::string pax_record(const std::string& key, const std::string& value) {
  const std::size_t rest = 1 + key.size() + 1 + value.size() + 1;  // " key=value\n"
  std::size_t length = rest + 1;
  while (std::to_string(length).size() + rest != length) {
    length = std::to_string(length).size() + rest;
  }
  return text(length, " ", key, "=", value, "\n");
}

}  // namespace

TarWriter::TarWriter(std::ostream& out, std::string name) : out_(out), name_(std::move(name)) {}

TarWriter::TarWriter(const std::string& path)
    : file_(std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc)), out_(*file_), name_(path) {
  if (!*file_) {
    throw IoError(text("cannot create tar file '", path, "'"));
  }
}

void TarWriter::write(const void* data, std::size_t size) {
  out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out_) {
    throw IoError(text("cannot write tar file '", name_, "' (disk full?)"));
  }
  bytes_written_ += size;
}

void TarWriter::add(const std::string& name, std::span<const uint8_t> bytes) {
  if (finished_) {
    throw Error(text("tar file '", name_, "': member '", name, "' added after finish()"));
  }
  if (name.empty() || name.find('\0') != std::string::npos) {
    throw Error(text("tar file '", name_, "': a member name must be non-empty and hold no NUL byte"));
  }
  if (bytes.size() > kMaxSize) {
    throw Error(text("tar file '", name_, "': member '", name, "' has ", bytes.size(),
                     " bytes, more than a ustar header can hold (8 GiB - 1)"));
  }
  static constexpr Block kZeros{};
  const auto pad = [&](uint64_t size) { write(kZeros.data(), (kBlock - size % kBlock) % kBlock); };
  if (name.size() > kNameSize) {
    const std::string records = pax_record("path", name);
    const Block header = ustar_header(kPaxHeaderName, 'x', records.size(), 0);  // mode 0 as tarfile's
    write(header.data(), header.size());
    write(records.data(), records.size());
    pad(records.size());
  }
  const Block header = ustar_header(name, '0', bytes.size(), 0644);
  write(header.data(), header.size());
  write(bytes.data(), bytes.size());
  pad(bytes.size());
  ++members_;
}

void TarWriter::finish() {
  if (finished_) {
    return;
  }
  finished_ = true;
  static constexpr Block kZeros{};
  write(kZeros.data(), kZeros.size());
  write(kZeros.data(), kZeros.size());
  while (bytes_written_ % kRecord != 0) {
    write(kZeros.data(), kZeros.size());
  }
  out_.flush();
  if (file_) {
    file_->close();
  }
  if (!out_) {
    throw IoError(text("cannot write tar file '", name_, "' (disk full?)"));
  }
}

}  // namespace mae::data
