#pragma once
// .pth files: the zip container of torch.save (data.pkl + data/<key> storage records), readable by
// torch.load(path, weights_only=True) and written atomically.
#include <ATen/core/ivalue.h>

#include <string>

namespace mae::io {

// What load_pth reads: everything, or only the pickle (tensors get their shapes and dtypes but no storage, so must
// not be read) for a file's metadata (a checkpoint's `args`) without reading gigabytes of weights.
enum class PthContents { everything, metadata_only };

// Loads a torch.save file (zip format, torch >= 1.6) into LibTorch values on the CPU (see pickle_reader.h).
// Throws IoError naming the path when it is missing or not such a file.
c10::IValue load_pth(const std::string& path, PthContents contents = PthContents::everything);

// Writes `value` as torch.save would. The file appears under `path` only when complete: it is written to a temporary
// file beside it, flushed to disk and renamed, so a crash never leaves a truncated file under the final name.
void save_pth(const std::string& path, const c10::IValue& value);

}  // namespace mae::io
