#pragma once
// One job per output folder. A job takes an advisory lock (flock) on "<folder>/.mae_job.lock" at start and holds it
// until its process ends, however it ends: the kernel drops a flock when its file is closed, so a kill -9, a crash or
// a preemption leaves no stale lock, and the file left behind is simply taken by the next job. A second job on the
// same folder stops at start with a message naming the holder (program, pid, host, start time).
//
// Across machines it is as good as the filesystem's flock: local filesystems and NFSv4 (Linux emulates flock with
// byte-range locks that the server arbitrates) and NFSv3 with a lock manager lock across clients; Lustre does only
// when mounted with -o flock (-o localflock locks within one node only). Where the filesystem refuses flock altogether
// (Lustre -o noflock) the job goes on with a warning that nothing stops a second job.
#include <string>

namespace mae::io {

class FolderLock {
 public:
  inline static constexpr const char* kFileName = ".mae_job.lock";

  // Takes the lock on `folder` (which must exist) for `program`; throws UsageError naming the holder when another
  // process has it.
  FolderLock(const std::string& folder, const std::string& program);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace mae::io
