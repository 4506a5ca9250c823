#pragma once
// Writing tar files that tar, Python's tarfile (and so WebDataset) and TarReader read: the shards of the packer.
#include <cstdint>
#include <fstream>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

namespace mae::data {

// A deterministic POSIX tar (ustar): the same members in the same order give the same bytes. Every member is a
// regular file with mode 0644, mtime 0, uid and gid 0 and empty user and group names; a name longer than the 100
// bytes of the ustar field goes in a pax extended header ('x', its `path` record) before the member. finish() writes
// the two zero blocks that end an archive and pads it to a whole 10240-byte record, as tar and tarfile do (the bytes
// are those of Python 3.11's tarfile in PAX_FORMAT given the same members and metadata, checked by hand). An
// unfinished archive (no finish(), e.g. after an error) lacks them: write to a temporary name and rename it after
// finish() to publish only whole shards.
class TarWriter {
 public:
  // Writes to `out`, which must outlive the writer; `name` is what errors call it.
  TarWriter(std::ostream& out, std::string name);
  // Creates (or empties) the file at `path`. Throws IoError naming it when it cannot be created.
  explicit TarWriter(const std::string& path);

  // Appends a member. Throws mae::Error for an empty name or one holding a NUL byte, or data of 8 GiB or more (the
  // ustar size field's limit), and IoError naming the output when writing fails.
  void add(const std::string& name, std::span<const uint8_t> bytes);
  void add(const std::string& name, std::string_view bytes) {
    add(name, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  }
  // Ends the archive and flushes it. Nothing may be added after it; a second call does nothing.
  void finish();

  // Bytes written so far (headers, data and padding; after finish(), the size of the whole file).
  uint64_t bytes_written() const { return bytes_written_; }
  std::size_t members() const { return members_; }

 private:
  void write(const void* data, std::size_t size);

  std::unique_ptr<std::ofstream> file_;  // when the writer opened the file itself
  std::ostream& out_;
  std::string name_;
  uint64_t bytes_written_ = 0;
  std::size_t members_ = 0;
  bool finished_ = false;
};

}  // namespace mae::data
