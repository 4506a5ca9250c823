#pragma once
// Writes LibTorch values as a protocol-2 pickle the way torch.save does, using only the globals that
// torch.load(weights_only=True) accepts: dicts, lists, tuples, str, int, float, bool, None and tensors
// (torch._utils._rebuild_tensor_v2 over torch.<Type>Storage persistent ids).
#include <ATen/core/ivalue.h>

#include <string>
#include <vector>

namespace mae::io {

struct Pickled {
  std::string bytes;                   // the data.pkl record
  std::vector<c10::Storage> storages;  // storage i goes into record "data/<i>"
};

// Dict keys must be strings, ints, floats or bools; tensors are written from the CPU (others are copied there).
Pickled write_pickle(const c10::IValue& value);

}  // namespace mae::io
