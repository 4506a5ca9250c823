#include "mae/io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <limits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <vector>

#include "mae/util/atomic_write.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::io {

AtomicFile::AtomicFile(std::string path)
    : path_(std::move(path)),
      temporary_(temporary_name(path_)),
      fd_(::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) {
  if (fd_ < 0) {
    throw IoError(text("cannot create '", temporary_, "': ", std::strerror(errno)));
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
  if (!committed_) {
    std::error_code ignored;
    std::filesystem::remove(temporary_, ignored);
  }
}

void AtomicFile::write(const void* data, std::size_t size) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd_, bytes, size);
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw IoError(text("cannot write '", temporary_, "': ", errno == ENOSPC ? "the disk is full (" : "(",
                         std::strerror(errno), ")"));
    }
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
}

void AtomicFile::commit() {
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw IoError(text("cannot write '", temporary_, "': ", std::strerror(errno)));
  }
  fd_ = -1;
  rename_durably(temporary_, path_);
  committed_ = true;
  sync_to_disk(std::filesystem::path(path_).parent_path().string(), true);
}

namespace {

void copy_file_atomically(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) {
    throw IoError(text("cannot read '", from, "' to copy it to '", to, "'"));
  }
  AtomicFile file(to);
  std::vector<char> buffer(8 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    file.write(buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (!in.eof()) {
    throw IoError(text("reading '", from, "' failed while copying it to '", to, "'"));
  }
  file.commit();
}

}  // namespace

RemovedFiles remove_stale_temporaries(const std::string& folder) {
  static const std::regex temporary(R"(.+\.tmp\.([0-9]+))");
  RemovedFiles removed;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    std::smatch match;
    if (!entry.is_regular_file(error) || !std::regex_match(name, match, temporary)) {
      continue;
    }
    int64_t number = 0;
    const std::string digits = match[1].str();
    const auto [end, parse_error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (parse_error != std::errc() || number <= 0 || number > std::numeric_limits<pid_t>::max()) {
      continue;  // not a process id of ours
    }
    const auto pid = static_cast<pid_t>(number);
    const bool running = pid == ::getpid() || ::kill(pid, 0) == 0 || errno == EPERM;
    if (running) {
      continue;
    }
    const auto bytes = entry.file_size(error);
    if (std::filesystem::remove(entry.path(), error)) {
      ++removed.count;
      removed.bytes += error ? 0 : bytes;
    }
  }
  return removed;
}

void link_or_copy_atomically(const std::string& from, const std::string& to) {
  const std::string temporary = temporary_name(to);
  std::error_code stale;
  std::filesystem::remove(temporary, stale);
  if (::link(from.c_str(), temporary.c_str()) != 0) {
    copy_file_atomically(from, to);  // no hard links here (another filesystem, some network mounts)
    return;
  }
  std::error_code error;
  std::filesystem::rename(temporary, to, error);
  if (error) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw IoError(text("cannot move '", temporary, "' to '", to, "': ", error.message()));
  }
  sync_to_disk(std::filesystem::path(to).parent_path().string(), true);
}

}  // namespace mae::io
