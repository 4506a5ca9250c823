#pragma once
// A file that appears under its final name only when complete: bytes go to "<path>.tmp.<pid>", and commit() flushes
// them to disk, renames the file over <path> and syncs the folder. Destroyed without commit(), it removes the
// temporary file, so a crash or an exception never leaves a truncated file under the final name.
#include <cstddef>
#include <cstdint>
#include <string>

namespace mae::io {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size);
  void commit();

 private:
  std::string path_;
  std::string temporary_;
  int fd_ = -1;
  bool committed_ = false;
};

// Gives `from`'s content the name `to` as well, atomically: `to` is either its old content or the whole new one. A
// hard link where the filesystem has them (no second write of a checkpoint's gigabytes; safe because files written
// through AtomicFile are only ever replaced, never changed in place), else a byte copy through an AtomicFile.
void link_or_copy_atomically(const std::string& from, const std::string& to);

struct RemovedFiles {
  int count = 0;
  uint64_t bytes = 0;
};

// Removes the "<name>.tmp.<pid>" files in `folder` (not below it) whose process no longer runs on this machine:
// what a kill -9, a power cut or a preemption left of an AtomicFile. A job calls it on its output folder at start.
// (A folder shared by jobs running at the same time on other machines is not supported: their pids mean nothing
// here.)
RemovedFiles remove_stale_temporaries(const std::string& folder);

}  // namespace mae::io
