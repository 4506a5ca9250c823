#pragma once
// A reader for the pickles inside torch.save files (protocol 2 as torch.save writes it, and the protocol 4 opcodes
// for files written with a higher pickle_protocol). It builds LibTorch values, not Python objects:
//   dict / OrderedDict -> GenericDict, list -> GenericList, tuple -> Tuple, str, int, float, bool, None,
//   tensors (torch._utils._rebuild_tensor_v2 / _rebuild_parameter) -> at::Tensor on the CPU,
//   argparse.Namespace (the `args` entry of official training checkpoints) -> GenericDict of its fields.
// An object of any other class is replaced by None and reported in `warnings`, so a stray object in a checkpoint
// never makes its tensors unreadable.
#include <ATen/core/ivalue.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mae::io {

// What torch.save's persistent id says about one storage: data lives in record "data/<key>".
struct StorageRecord {
  std::string key;
  c10::ScalarType dtype;
  int64_t numel;
  std::string location;  // "cpu", "cuda:0", ... (we always load to the CPU)
};

using StorageLoader = std::function<c10::Storage(const StorageRecord&)>;

// `source` names the file in error messages.
c10::IValue read_pickle(std::string_view bytes, const StorageLoader& load_storage, const std::string& source,
                        std::vector<std::string>& warnings);

}  // namespace mae::io
