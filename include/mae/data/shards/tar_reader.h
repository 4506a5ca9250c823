#pragma once
// Reading a tar file sequentially, member after member, as WebDataset shards are read: from a file or a command's
// output, never seeking.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mae/data/shards/shard_source.h"

namespace mae::data {

struct TarMember {
  std::string name;  // the full path inside the archive
  std::vector<uint8_t> bytes;
};

// Reads the regular files of a tar stream in archive order. Understands the formats that tar and Python's tarfile
// write: POSIX ustar (with its name prefix), GNU (long names in 'L' records) and pax (the `path` and `size` records
// of 'x' headers; 'g' global headers are skipped). Directories, links, devices and other entries are skipped. Each
// header's checksum is verified. The archive ends at a zero block (tar writes two) or at the end of the stream on a
// block boundary; after a zero block the rest of the stream is read and dropped, so that a pipe: command runs to its
// end and its exit status is checked.
//
// Errors are IoError naming the shard (the source's name) and the member: a stream that ends inside a member or a
// header ("shard 'x.tar' is truncated in member 'n01/abc.jpg': 1234 of 5678 bytes"), a header whose checksum does not
// match (with its offset and the member before it), malformed size fields or pax records, an empty stream.
class TarReader {
 public:
  // Reads from `source`, which must outlive the reader.
  explicit TarReader(ByteSource& source);

  // The next regular file, or nullopt at the end of the archive.
  std::optional<TarMember> next();

  const std::string& shard() const { return source_.name(); }
  // Bytes of the stream consumed so far.
  uint64_t offset() const { return offset_; }

 private:
  // Reads exactly `size` bytes unless the stream ends first; returns how many were read. An error of the source is
  // rethrown naming `member` (empty: a header).
  std::size_t read_up_to(uint8_t* buffer, std::size_t size, const std::string& member);
  // A member's data (`size` bytes, then padding to the block): throws naming `member` when the stream ends early.
  std::vector<uint8_t> read_data(uint64_t size, const std::string& member);
  // Reads past a member that is not returned.
  void skip_data(uint64_t size, const std::string& member);
  void drain();

  ByteSource& source_;
  uint64_t offset_ = 0;
  std::string previous_;  // the last member read, for errors about what follows it
  bool ended_ = false;
};

}  // namespace mae::data
