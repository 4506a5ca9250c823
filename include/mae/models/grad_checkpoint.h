#pragma once
// Activation checkpointing, as torch.utils.checkpoint(use_reentrant=True) that timm's set_grad_checkpointing uses
// (LibTorch has no torch.utils.checkpoint): a block runs forward without keeping its activations, and backward runs
// it again, with the random-number and autocast states it had the first time, to get the gradients. Memory falls from
// every block's activations to one block's plus each block's input; the price is one more forward pass per block.
#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace mae::models {

// A pure function of `inputs` (and of parameters it reads), run once forward and once more in backward.
using CheckpointedFunction = std::function<at::Tensor(const std::vector<at::Tensor>& inputs)>;

// function(inputs) with the same value and the same gradients, for inputs and for every parameter `function` reads,
// keeping only `inputs` for backward. The parameters' gradients are accumulated into their .grad during backward (as
// the reentrant torch.utils.checkpoint does), so a gradient-sync hook on a parameter fires as usual. Random draws in
// `function` (drop path) repeat exactly in the recomputation: the CPU generator's state, and that of the inputs' CUDA
// device, are restored for it and put back afterwards. So is autocast: the recomputation runs under the autocast
// state of the first run. `function` must stay callable until backward.
at::Tensor checkpointed(const CheckpointedFunction& function, const std::vector<at::Tensor>& inputs);

// checkpointed(function, inputs) when `enabled`, autograd is recording and an input needs a gradient;
// function(inputs) otherwise: in evaluation nothing would be kept anyway, and without an input that needs a gradient
// the checkpoint would have no backward, so parameters inside (a trainable block behind frozen ones) would get none.
at::Tensor maybe_checkpointed(bool enabled, const CheckpointedFunction& function, const std::vector<at::Tensor>& inputs);

}  // namespace mae::models
