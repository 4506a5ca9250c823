#include "mae/data/shards/shard_source.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "mae/util/error.h"
#include "mae/util/stop_signals.h"
#include "mae/util/strings.h"

extern char** environ;

namespace mae::data {
namespace {

constexpr std::string_view kPipePrefix = "pipe:";

// The shell script a pipe: command runs as. The command runs in the background of a shell that waits for it and
// exits with its status; when that shell gets SIGTERM (from us stopping early, or from the kernel when the thread
// that started it ends: PR_SET_PDEATHSIG), it passes it to the whole process group, so that every process of a
// pipeline such as `curl ... | zstd -d` ends with it. (The parent-death signal reaches only the shell itself.)
std::string supervised(const std::string& command) {
  return text("trap 'trap - TERM; kill -TERM 0' TERM\n(\n", command, "\n) &\nwait $!\n");
}

// In the child between fork and exec, only async-signal-safe calls. Never returns.
[[noreturn]] void exec_command(const char* script, int stdout_fd, pid_t parent) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) {  // the parent died before the line above: nobody reads us
    ::_exit(1);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Default handling of SIGPIPE (a command told to ignore it would not end when we stop reading) and SIGTERM.
  ::signal(SIGPIPE, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  if (::dup2(stdout_fd, STDOUT_FILENO) < 0) {  // dup2 clears close-on-exec
    ::_exit(127);
  }
  const char* argv[] = {"sh", "-c", script, nullptr};
  ::execve("/bin/sh", const_cast<char* const*>(argv), environ);
  ::_exit(127);
}

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

ShardSource::ShardSource(std::string url, std::chrono::seconds stall_limit)
    : url_(std::move(url)), stall_limit_(stall_limit) {
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
  // fork and exec rather than popen or posix_spawn: the command gets its own process group (so that a reader that
  // stops early can stop the whole pipeline), default signal handling, and a parent-death signal (set between fork
  // and exec, which posix_spawn cannot do); the pipe is close-on-exec, so that commands started by other loader
  // threads do not inherit its write end and hold our end of the stream open.
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) {
    const int error = errno;
    throw IoError(text("cannot start the command of shard '", url_, "': pipe: ", std::strerror(error)));
  }
  const std::string script = supervised(command_);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    exec_command(script.c_str(), ends[1], parent);
  }
  const int error = errno;
  ::close(ends[1]);
  if (pid_ < 0) {
    ::close(ends[0]);
    pid_ = -1;
    throw IoError(text("cannot start the command of shard '", url_, "': fork: ", std::strerror(error)));
  }
  ::setpgid(pid_, pid_);  // also here, so that a kill of the group right after fork reaches it
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

void ShardSource::wait_for_bytes() {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point silent_since = Clock::now();
  for (;;) {
    pollfd ready{fd_, POLLIN, 0};
    const int polled = ::poll(&ready, 1, 200);  // a fifth of a second: how soon a stop signal is noticed
    if (polled > 0) {
      return;  // bytes, the end of the stream or an error: read() tells which
    }
    if (polled < 0 && errno != EINTR) {
      const int error = errno;
      throw IoError(text("cannot read shard '", url_, "' after ", bytes_read_, " bytes: poll: ", std::strerror(error)));
    }
    const auto silent = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - silent_since);
    const bool stopping = StopSignals::requested();
    const std::chrono::seconds limit =
        stopping && (stall_limit_ == std::chrono::seconds::zero() || stall_limit_ > kStallLimitOnStop)
            ? kStallLimitOnStop
            : stall_limit_;
    if (limit == std::chrono::seconds::zero() || silent < limit) {
      continue;
    }
    ::kill(-pid_, SIGKILL);
    int status = 0;
    wait_for(pid_, status);
    pid_ = -1;
    ::close(fd_);
    fd_ = -1;
    throw IoError(text("shard '", url_, "': command '", command_, "' wrote nothing for ", silent.count(), " s after ",
                       bytes_read_, " bytes",
                       stopping ? text(" while the job was stopping (", StopSignals::signal_name(), ")")
                                : text(" (--pipe_timeout ", stall_limit_.count(), ")"),
                       "; it was killed"));
  }
}

std::size_t ShardSource::read(uint8_t* buffer, std::size_t size) {
  if (fd_ < 0) {
    return 0;
  }
  if (pid_ > 0) {
    wait_for_bytes();
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
