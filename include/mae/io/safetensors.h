#pragma once
// safetensors files (Hugging Face): an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then the raw little-endian tensor bytes.
#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mae::io {

class AtomicFile;

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;
using Metadata = std::map<std::string, std::string>;

struct Safetensors {
  NamedTensors tensors;  // in file order of their data
  Metadata metadata;
};

// Throws IoError naming the path for a missing, truncated or malformed file.
Safetensors load_safetensors(const std::string& path);

// Writes contiguous CPU copies of the tensors, atomically (see atomic_file.h).
void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});
// The same into `file`, left for the caller to commit: files that must change together are all written before any
// of them is committed.
void write_safetensors(AtomicFile& file, const NamedTensors& tensors, const Metadata& metadata = {});

}  // namespace mae::io
