#include "mae/io/pth_file.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "mae/io/pickle_reader.h"
#include "mae/io/pickle_writer.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::io {
namespace {

std::string record_text(caffe2::serialize::PyTorchStreamReader& reader, const std::string& name) {
  auto [data, size] = reader.getRecord(name);
  return {static_cast<const char*>(data.get()), size};
}

// Owns a file descriptor; the one place that closes it.
class File {
 public:
  File(const std::string& path, int flags) : fd_(::open(path.c_str(), flags, 0644)) {}
  ~File() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

void write_all(int fd, const void* data, std::size_t size, const std::string& path) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd, bytes, size);
    if (written < 0) {
      throw IoError(text("cannot write '", path, "': ", std::strerror(errno)));
    }
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
}

// Writes the zip container of torch.save to `file_path` and flushes it to disk.
void write_archive(const std::string& file_path, const Pickled& pickled) {
  File file(file_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);
  if (file.fd() < 0) {
    throw IoError(text("cannot create '", file_path, "': ", std::strerror(errno)));
  }
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, std::size_t size) {
    write_all(file.fd(), data, size, file_path);
    return size;
  });
  writer.writeRecord("data.pkl", pickled.bytes.data(), pickled.bytes.size());
  writer.writeRecord("byteorder", "little", 6);
  for (std::size_t key = 0; key < pickled.storages.size(); ++key) {
    const c10::Storage& storage = pickled.storages[key];
    writer.writeRecord(text("data/", key), storage.data(), storage.nbytes());
  }
  writer.writeEndOfFile();
  if (::fsync(file.fd()) != 0) {
    throw IoError(text("cannot flush '", file_path, "' to disk: ", std::strerror(errno)));
  }
}

}  // namespace

c10::IValue load_pth(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw IoError(text("checkpoint '", path, "' ", std::filesystem::exists(path) ? "is not a file" : "does not exist"));
  }
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error&) {
    throw IoError(text("'", path,
                      "' is not a torch.save file in the zip format of torch >= 1.6 "
                      "(re-save it in Python with torch.save to convert a legacy file)"));
  }
  if (reader->hasRecord("byteorder") && record_text(*reader, "byteorder") != "little") {
    throw IoError(text("'", path, "' was written on a big-endian machine; only little-endian files are supported"));
  }
  const StorageLoader load_storage = [&](const StorageRecord& record) {
    const std::string name = "data/" + record.key;
    if (!reader->hasRecord(name)) {
      throw IoError(text("'", path, "' is incomplete: its storage record ", name, " is missing"));
    }
    auto [data, size] = reader->getRecord(name);
    const std::size_t expected = static_cast<std::size_t>(record.numel) * c10::elementSize(record.dtype);
    if (size < expected) {
      throw IoError(text("'", path, "' is truncated: ", name, " holds ", size, " bytes, ", expected, " expected"));
    }
    return c10::Storage(c10::Storage::use_byte_size_t(), size, std::move(data), nullptr, false);
  };
  std::vector<std::string> warnings;
  c10::IValue value = read_pickle(record_text(*reader, "data.pkl"), load_storage, path, warnings);
  for (const auto& warning : warnings) {
    log::warn(text(path, ": ", warning));
  }
  return value;
}

void save_pth(const std::string& path, const c10::IValue& value) {
  const Pickled pickled = write_pickle(value);
  const std::string temporary = text(path, ".tmp.", ::getpid());
  try {
    write_archive(temporary, pickled);
    std::error_code error;
    std::filesystem::rename(temporary, path, error);
    if (error) {
      throw IoError(text("cannot move '", temporary, "' to '", path, "': ", error.message()));
    }
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw;
  }
  // Make the rename itself durable.
  const std::filesystem::path folder = std::filesystem::path(path).has_parent_path()
                                           ? std::filesystem::path(path).parent_path()
                                           : std::filesystem::path(".");
  File directory(folder.string(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory.fd() >= 0) {
    ::fsync(directory.fd());
  }
}

}  // namespace mae::io
