#include "mae/models/grad_checkpoint.h"

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/ivalue.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/custom_class.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <utility>

#include "mae/models/autocast_scope.h"

namespace mae::models {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The states of the generators a block may draw from: the CPU's always (as torch.utils.checkpoint), and that of the
// inputs' CUDA device when they live on one.
struct RngStates {
  std::vector<std::pair<c10::Device, at::Tensor>> generators;

  static RngStates capture(const std::vector<at::Tensor>& inputs) {
    RngStates states;
    states.add(c10::Device(c10::kCPU));
    for (const at::Tensor& input : inputs) {
      if (input.defined() && input.is_cuda()) {
        states.add(input.device());
        break;
      }
    }
    return states;
  }

  void restore() const {
    for (const auto& [device, state] : generators) {
      at::Generator generator = at::globalContext().defaultGenerator(device);
      const std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(state);
    }
  }

 private:
  void add(const c10::Device& device) {
    at::Generator generator = at::globalContext().defaultGenerator(device);
    const std::lock_guard<std::mutex> lock(generator.mutex());
    generators.emplace_back(device, generator.get_state());
  }
};

// Puts the generators back as they were when it was made.
class ForkedRng {
 public:
  explicit ForkedRng(RngStates states) : states_(std::move(states)) {}
  ~ForkedRng() { states_.restore(); }
  ForkedRng(const ForkedRng&) = delete;
  ForkedRng& operator=(const ForkedRng&) = delete;

 private:
  RngStates states_;
};

// Autocast as the forward pass had it, on the CPU and on CUDA.
struct AutocastState {
  bool cpu_enabled = false;
  c10::ScalarType cpu_dtype = c10::ScalarType::BFloat16;
  bool cuda_enabled = false;
  c10::ScalarType cuda_dtype = c10::ScalarType::Half;

  static AutocastState capture() {
    return {at::autocast::is_autocast_enabled(c10::DeviceType::CPU),
            at::autocast::get_autocast_dtype(c10::DeviceType::CPU),
            at::autocast::is_autocast_enabled(c10::DeviceType::CUDA),
            at::autocast::get_autocast_dtype(c10::DeviceType::CUDA)};
  }
};

// What backward needs besides the saved inputs, held by the autograd context (whose saved data are IValues).
struct Recomputation : torch::CustomClassHolder {
  CheckpointedFunction function;
  RngStates rng;
  AutocastState autocast;
};

struct CheckpointFunction : torch::autograd::Function<CheckpointFunction> {
  // `inputs` comes as a TensorList, the argument type Function::apply tracks tensor by tensor.
  static at::Tensor forward(AutogradContext* ctx, at::TensorList input_list, const CheckpointedFunction& function) {
    // Function::apply runs this with gradients off: nothing inside keeps activations.
    const variable_list inputs = input_list.vec();
    auto recomputation = c10::make_intrusive<Recomputation>();
    recomputation->function = function;
    recomputation->rng = RngStates::capture(inputs);
    recomputation->autocast = AutocastState::capture();
    at::Tensor output = function(inputs);
    ctx->save_for_backward(inputs);
    ctx->saved_data["recomputation"] = c10::IValue::make_capsule(std::move(recomputation));
    return output;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto recomputation =
        c10::static_intrusive_pointer_cast<Recomputation>(ctx->saved_data.at("recomputation").toCapsule());
    const variable_list saved = ctx->get_saved_variables();
    if (!grad_outputs.at(0).defined()) {  // the output was not used
      return variable_list(saved.size() + 1);
    }
    variable_list inputs;
    inputs.reserve(saved.size());
    for (const at::Tensor& input : saved) {
      inputs.push_back(input.defined() ? input.detach().requires_grad_(input.requires_grad()) : input);
    }
    at::Tensor output;
    {
      // torch.random.fork_rng: the recomputation draws what the forward pass drew, and the generators then go on
      // from where backward found them, even if the recomputation throws.
      const ForkedRng fork(RngStates::capture(inputs));
      recomputation->rng.restore();
      const c10::AutoGradMode grad_on(true);
      const AutocastState& autocast = recomputation->autocast;
      const AutocastScope cpu(c10::DeviceType::CPU, autocast.cpu_dtype, autocast.cpu_enabled);
      const AutocastScope cuda(c10::DeviceType::CUDA, autocast.cuda_dtype, autocast.cuda_enabled);
      output = recomputation->function(inputs);
    }
    // Parameters receive their gradients here, in .grad; the inputs' go back to the outer graph.
    torch::autograd::backward({output}, {grad_outputs.at(0)});
    variable_list grads;
    grads.reserve(inputs.size() + 1);
    for (const at::Tensor& input : inputs) {
      grads.push_back(input.defined() && input.requires_grad() ? input.grad() : at::Tensor());
    }
    grads.emplace_back();  // `function` has no gradient
    return grads;
  }
};

}  // namespace

at::Tensor checkpointed(const CheckpointedFunction& function, const std::vector<at::Tensor>& inputs) {
  return CheckpointFunction::apply(at::TensorList(inputs), function);
}

at::Tensor maybe_checkpointed(bool enabled, const CheckpointedFunction& function,
                              const std::vector<at::Tensor>& inputs) {
  // An autograd Function has a backward only when one of its inputs needs a gradient: a trainable block behind
  // frozen ones (--finetune_blocks) would get none through a checkpoint, so it runs plainly, keeping its activations.
  const bool input_needs_grad =
      std::any_of(inputs.begin(), inputs.end(), [](const at::Tensor& x) { return x.defined() && x.requires_grad(); });
  if (enabled && c10::GradMode::is_enabled() && input_needs_grad) {
    return checkpointed(function, inputs);
  }
  return function(inputs);
}

}  // namespace mae::models
