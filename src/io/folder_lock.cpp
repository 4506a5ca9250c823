#include "mae/io/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::io {
namespace {

std::string host_name() {
  char name[256] = {};
  return ::gethostname(name, sizeof name - 1) == 0 ? std::string(name) : std::string("an unknown host");
}

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

// What the holder wrote into the lock file: "mae_pretrain, pid 123 on host node7, since 2026-12-07T16:40:00Z".
std::string holder_of(int fd) {
  char buffer[512] = {};
  const ssize_t size = ::pread(fd, buffer, sizeof buffer - 1, 0);
  std::string holder(buffer, size > 0 ? static_cast<std::size_t>(size) : 0);
  while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) {
    holder.pop_back();
  }
  return holder.empty() ? std::string("a process that has not written its name yet") : holder;
}

}  // namespace

FolderLock::FolderLock(const std::string& folder, const std::string& program) {
  const std::string path = (std::filesystem::path(folder) / kFileName).string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw IoError(text("cannot open the job lock ", path, ": ", std::strerror(errno)));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error == EWOULDBLOCK) {
      const std::string holder = holder_of(fd_);
      ::close(fd_);
      fd_ = -1;
      throw UsageError(text("--output_dir ", folder, " is in use by another job (", holder, "): give this job its ",
                            "own --output_dir, or stop that one first (the lock is ", path, ", released when that ",
                            "process ends)"));
    }
    log::warn(text("cannot lock ", path, " (", std::strerror(error), "; a filesystem without flock, such as Lustre ",
                   "mounted without -o flock): nothing stops a second job from writing into ", folder));
    return;
  }
  const std::string holder = text(program, ", pid ", ::getpid(), " on host ", host_name(), ", since ", utc_now(), "\n");
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, holder.data(), holder.size(), 0) < 0) {
    log::warn(text("cannot write this job's name into ", path, ": ", std::strerror(errno)));
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) {
    ::close(fd_);  // releases the lock; the file stays for the next job
  }
}

}  // namespace mae::io
