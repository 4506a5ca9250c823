#include "mae/data/shard_source.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "mae/util/error.h"
#include "mae/util/strings.h"

extern char** environ;

namespace mae::data {
namespace {

constexpr std::string_view kPipePrefix = "pipe:";

// posix_spawn's attributes and file actions, destroyed on every path out.
struct SpawnSettings {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnSettings() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSettings() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
};

void wait_for(pid_t pid, int& status) {
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

bool is_pipe_url(const std::string& url) {
  return url.starts_with(kPipePrefix);
}

std::size_t MemorySource::read(uint8_t* buffer, std::size_t size) {
  const std::size_t count = std::min(size, bytes_.size() - position_);
  std::memcpy(buffer, bytes_.data() + position_, count);
  position_ += count;
  return count;
}

ShardSource::ShardSource(std::string url) : url_(std::move(url)) {
  if (!is_pipe_url(url_)) {
    fd_ = ::open(url_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      const int error = errno;
      throw IoError(text("cannot open shard '", url_, "': ", std::strerror(error), " (check --data_path)"));
    }
    struct stat info {};
    if (::fstat(fd_, &info) == 0 && S_ISDIR(info.st_mode)) {
      ::close(fd_);
      fd_ = -1;
      throw IoError(text("shard '", url_, "' is a folder, not a tar file (check --data_path)"));
    }
    // Shards are read once from start to end: let the kernel read ahead (it matters on cluster filesystems).
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    return;
  }
  command_ = url_.substr(kPipePrefix.size());
  if (command_.find_first_not_of(" \t") == std::string::npos) {
    throw IoError(text("shard '", url_, "' has no command after 'pipe:'"));
  }
  // posix_spawn rather than popen: the command gets its own process group (so that a reader that stops early can stop
  // the whole pipeline) and default signal handling (a process that ignores SIGPIPE would pass that on, and the
  // command would not end when we stop reading); the pipe is close-on-exec, so that commands started by other loader
  // threads do not inherit its write end and hold our end of the stream open.
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) {
    const int error = errno;
    throw IoError(text("cannot start the command of shard '", url_, "': pipe: ", std::strerror(error)));
  }
  SpawnSettings settings;
  posix_spawn_file_actions_adddup2(&settings.actions, ends[1], STDOUT_FILENO);  // dup2 clears close-on-exec
  sigset_t signals;
  sigemptyset(&signals);
  posix_spawnattr_setsigmask(&settings.attributes, &signals);
  sigaddset(&signals, SIGPIPE);
  posix_spawnattr_setsigdefault(&settings.attributes, &signals);
  posix_spawnattr_setpgroup(&settings.attributes, 0);
  posix_spawnattr_setflags(&settings.attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const char* argv[] = {"sh", "-c", command_.c_str(), nullptr};
  const int error =
      ::posix_spawn(&pid_, "/bin/sh", &settings.actions, &settings.attributes, const_cast<char* const*>(argv), environ);
  ::close(ends[1]);
  if (error != 0) {
    ::close(ends[0]);
    pid_ = -1;
    throw IoError(text("cannot start the command of shard '", url_, "': ", std::strerror(error)));
  }
  fd_ = ends[0];
}

ShardSource::~ShardSource() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
  if (pid_ > 0) {
    ::kill(-pid_, SIGTERM);
    int status = 0;
    wait_for(pid_, status);
  }
}

std::size_t ShardSource::read(uint8_t* buffer, std::size_t size) {
  if (fd_ < 0) {
    return 0;
  }
  for (;;) {
    const ssize_t count = ::read(fd_, buffer, size);
    if (count > 0) {
      bytes_read_ += static_cast<uint64_t>(count);
      return static_cast<std::size_t>(count);
    }
    if (count == 0) {
      break;
    }
    if (errno != EINTR) {
      const int error = errno;
      throw IoError(text("cannot read shard '", url_, "' after ", bytes_read_, " bytes: ", std::strerror(error)));
    }
  }
  ::close(fd_);
  fd_ = -1;
  if (pid_ > 0) {
    finish_command();
  }
  return 0;
}

void ShardSource::finish_command() {
  int status = 0;
  wait_for(pid_, status);
  pid_ = -1;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    return;
  }
  std::string how;
  if (WIFEXITED(status)) {
    const int code = WEXITSTATUS(status);
    how = text("exited with status ", code, code == 127 ? " (command not found)" : "");
  } else if (WIFSIGNALED(status)) {
    how = text("was killed by signal ", WTERMSIG(status), " (", ::strsignal(WTERMSIG(status)), ")");
  } else {
    how = text("ended abnormally (wait status ", status, ")");
  }
  throw IoError(text(
      "shard '", url_, "': command '", command_, "' ", how,
      bytes_read_ == 0 ? std::string(" before writing anything") : text(" after writing ", bytes_read_, " bytes")));
}

}  // namespace mae::data
