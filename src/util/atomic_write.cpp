#include "mae/util/atomic_write.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae {

std::string temporary_name(const std::string& path) { return text(path, ".tmp.", ::getpid()); }

void sync_to_disk(const std::string& path, bool folder) {
  const int fd = ::open(path.empty() ? "." : path.c_str(), (folder ? (O_RDONLY | O_DIRECTORY) : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) {
    if (folder) {  // the renames are done; a folder that cannot be opened only leaves them less durable
      return;
    }
    throw IoError(text("cannot open '", path, "' to flush it to disk: ", std::strerror(errno)));
  }
  const int result = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (result != 0 && !(folder && (error == EINVAL || error == EBADF))) {  // some filesystems cannot sync folders
    throw IoError(text("cannot flush '", path, "' to disk: ", std::strerror(error)));
  }
}

void rename_durably(const std::string& temporary, const std::string& path) {
  sync_to_disk(temporary, false);
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    throw IoError(text("cannot rename '", temporary, "' to '", path, "': ", error.message()));
  }
}

}  // namespace mae
