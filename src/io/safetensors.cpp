#include "mae/io/safetensors.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mae/io/atomic_file.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::io {
namespace {

constexpr std::array<std::pair<c10::ScalarType, const char*>, 10> kDtypes{{
    {c10::ScalarType::Double, "F64"},
    {c10::ScalarType::Float, "F32"},
    {c10::ScalarType::Half, "F16"},
    {c10::ScalarType::BFloat16, "BF16"},
    {c10::ScalarType::Long, "I64"},
    {c10::ScalarType::Int, "I32"},
    {c10::ScalarType::Short, "I16"},
    {c10::ScalarType::Char, "I8"},
    {c10::ScalarType::Byte, "U8"},
    {c10::ScalarType::Bool, "BOOL"},
}};

std::string dtype_name(c10::ScalarType dtype) {
  for (const auto& [type, name] : kDtypes) {
    if (type == dtype) {
      return name;
    }
  }
  throw IoError(text("tensors of dtype ", c10::toString(dtype), " cannot be written to safetensors"));
}

}  // namespace

Safetensors load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw IoError(text("safetensors file '", path, "' cannot be opened"));
  }
  const auto fail = [&](const std::string& what) -> IoError { return IoError(text("'", path, "': ", what)); };
  uint64_t header_size = 0;
  in.read(reinterpret_cast<char*>(&header_size), sizeof header_size);
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<uint64_t>(in.tellg());
  if (file_size < 8 || header_size > file_size - 8) {
    throw fail("not a safetensors file (bad header length)");
  }
  std::string header(header_size, '\0');
  in.seekg(8);
  in.read(header.data(), static_cast<std::streamsize>(header_size));
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& error) {
    throw fail(text("malformed safetensors header (", error.what(), ")"));
  }
  const uint64_t data_start = 8 + header_size;
  Safetensors result;
  std::vector<std::pair<uint64_t, std::pair<std::string, at::Tensor>>> ordered;
  try {
    for (const auto& [name, entry] : json.items()) {
      if (name == "__metadata__") {
        result.metadata = entry.get<Metadata>();
        continue;
      }
      const std::string dtype = entry.at("dtype").get<std::string>();
      const auto found = std::find_if(kDtypes.begin(), kDtypes.end(), [&](const auto& d) { return dtype == d.second; });
      if (found == kDtypes.end()) {
        throw fail(text("tensor '", name, "' has unsupported dtype ", dtype));
      }
      const auto shape = entry.at("shape").get<std::vector<int64_t>>();
      const auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
      // The declared size is checked against the file before anything is allocated: a hostile or broken header must
      // not make us ask for terabytes.
      const auto element = static_cast<uint64_t>(c10::elementSize(found->first));
      uint64_t bytes = element;
      for (const int64_t dimension : shape) {
        if (dimension < 0) {
          throw fail(text("tensor '", name, "' has a negative dimension (", dimension, "): the file is corrupt"));
        }
        if (dimension != 0 && bytes > file_size / static_cast<uint64_t>(dimension)) {
          bytes = file_size + 1;  // larger than the file, without overflowing
          break;
        }
        bytes *= static_cast<uint64_t>(dimension);
      }
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] - offsets[0] != bytes ||
          offsets[1] > file_size - data_start) {
        throw fail(text("tensor '", name, "' lies outside the file or has the wrong size: the file is truncated or "
                                          "corrupt"));
      }
      at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(found->first));
      in.seekg(static_cast<std::streamoff>(data_start + offsets[0]));
      in.read(static_cast<char*>(tensor.data_ptr()), static_cast<std::streamsize>(bytes));
      ordered.push_back({offsets[0], {name, tensor}});
    }
  } catch (const nlohmann::json::exception& error) {
    throw fail(text("malformed safetensors header (", error.what(), ")"));
  }
  if (!in) {
    throw fail("read error");
  }
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [offset, named] : ordered) {
    result.tensors.push_back(std::move(named));
  }
  return result;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  AtomicFile file(path);
  write_safetensors(file, tensors, metadata);
  file.commit();
}

void write_safetensors(AtomicFile& file, const NamedTensors& tensors, const Metadata& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    header["__metadata__"] = metadata;
  }
  std::vector<at::Tensor> contiguous;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    contiguous.push_back(tensor.detach().to(at::kCPU).contiguous());
    const auto bytes = static_cast<uint64_t>(contiguous.back().nbytes());
    header[name] = {{"dtype", dtype_name(tensor.scalar_type())},
                    {"shape", tensor.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  const auto header_size = static_cast<uint64_t>(header_text.size());
  file.write(&header_size, sizeof header_size);
  file.write(header_text.data(), header_text.size());
  for (const auto& tensor : contiguous) {
    file.write(tensor.data_ptr(), tensor.nbytes());
  }
}

}  // namespace mae::io
