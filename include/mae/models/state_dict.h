#pragma once
// Name -> tensor views of a module, under the official names, in Python's state_dict() order.
#include <torch/nn/module.h>

#include <string>
#include <utility>
#include <vector>

namespace mae::models {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Parameters and buffers, module by module in pre-order, each module's parameters before its buffers, exactly as
// torch.nn.Module.state_dict() orders them. The tensors alias the module's own.
NamedTensors state_dict(const torch::nn::Module& module);

struct LoadReport {
  std::vector<std::string> missing_keys;     // in the module, not in the source
  std::vector<std::string> unexpected_keys;  // in the source, not in the module
};

// Copies every source tensor whose name the module has into it (converting dtype, keeping the module's device).
// A shape mismatch is an error listing every mismatched key with both shapes; with `strict`, so is any missing or
// unexpected key. Nothing is copied when it throws.
LoadReport load_state_dict(torch::nn::Module& module, const NamedTensors& source, bool strict);

}  // namespace mae::models
