#include "mae/io/pth_file.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include "mae/io/atomic_file.h"
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

}  // namespace

c10::IValue load_pth(const std::string& path, PthContents contents) {
  if (!std::filesystem::is_regular_file(path)) {
    throw IoError(text("checkpoint '", path, "' ", std::filesystem::exists(path) ? "is not a file" : "does not exist"));
  }
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error&) {
    throw IoError(text("'", path, "' is not a readable torch.save file: it is truncated, corrupt, or in the legacy "
                                  "format of torch < 1.6 (re-save it with torch.save in Python to convert it)"));
  }
  try {
    if (reader->hasRecord("byteorder") && record_text(*reader, "byteorder") != "little") {
      throw IoError(text("'", path, "' was written on a big-endian machine; only little-endian files are supported"));
    }
    const StorageLoader load_storage = [&](const StorageRecord& record) {
      const std::size_t expected = static_cast<std::size_t>(record.numel) * c10::elementSize(record.dtype);
      if (contents == PthContents::metadata_only) {  // sized, with no memory behind it
        return c10::Storage(c10::Storage::use_byte_size_t(), expected, c10::DataPtr(nullptr, c10::kCPU), nullptr,
                            false);
      }
      const std::string name = "data/" + record.key;
      if (!reader->hasRecord(name)) {
        throw IoError(text("'", path, "' is incomplete: its storage record ", name, " is missing"));
      }
      auto [data, size] = reader->getRecord(name);
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
  } catch (const c10::Error& error) {
    // The zip layer checks record sizes and CRCs; its own message is long and names no file.
    throw IoError(text("'", path, "' is corrupt: ", error.what_without_backtrace()));
  }
}

void save_pth(const std::string& path, const c10::IValue& value) {
  const Pickled pickled = write_pickle(value);
  AtomicFile file(path);
  // The zip writer must never see a failed write: it would throw again from its destructor (std::terminate, with
  // "unexpected pos" naming neither the disk nor the file). So the first error (a full disk, say) is kept, the rest
  // of the bytes are dropped, and the error is thrown once the writer is done; the temporary file then goes.
  std::optional<IoError> write_error;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, std::size_t size) {
      if (!write_error) {
        try {
          file.write(data, size);
        } catch (const IoError& error) {
          write_error = error;
        }
      }
      return size;
    });
    writer.writeRecord("data.pkl", pickled.bytes.data(), pickled.bytes.size());
    writer.writeRecord("byteorder", "little", 6);
    for (std::size_t key = 0; key < pickled.storages.size() && !write_error; ++key) {
      const c10::Storage& storage = pickled.storages[key];
      writer.writeRecord(text("data/", key), storage.data(), storage.nbytes());
    }
    writer.writeEndOfFile();
  }
  if (write_error) {
    throw IoError(text("cannot write '", path, "': ", write_error->what(), "; '", path, "' was left as it was"));
  }
  file.commit();
}

}  // namespace mae::io
