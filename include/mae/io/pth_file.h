#pragma once
// .pth files: the zip container of torch.save (data.pkl + data/<key> storage records), readable by
// torch.load(path, weights_only=True) and written atomically.
#include <ATen/core/ivalue.h>

#include <string>

namespace mae::io {

// Loads a torch.save file (zip format, torch >= 1.6) into LibTorch values on the CPU (see pickle_reader.h).
// Throws IoError naming the path when it is missing or not such a file.
c10::IValue load_pth(const std::string& path);

// Writes `value` as torch.save would. The file appears under `path` only when complete: it is written to a temporary
// file beside it, flushed to disk and renamed, so a crash never leaves a truncated file under the final name.
void save_pth(const std::string& path, const c10::IValue& value);

}  // namespace mae::io
