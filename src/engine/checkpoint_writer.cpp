#include "mae/engine/checkpoint_writer.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <chrono>
#include <filesystem>

#include "mae/engine/grad_scaler.h"
#include "mae/engine/optimizer.h"
#include "mae/io/atomic_file.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::engine {
namespace {

at::Tensor cpu_copy(const at::Tensor& tensor) {
  return tensor.is_cpu() ? tensor.detach().clone() : tensor.detach().to(at::kCPU);
}

// The optimizer's state_dict with every tensor copied; the structure (dicts, lists, numbers) rebuilt around them.
// `tensors` collects each copy with a name for the finiteness check.
c10::IValue deep_copy(const c10::IValue& value, const std::string& name,
                      std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  if (value.isTensor()) {
    at::Tensor copy = cpu_copy(value.toTensor());
    tensors.emplace_back(name, copy);
    return copy;
  }
  if (value.isGenericDict()) {
    const auto source = value.toGenericDict();
    c10::impl::GenericDict copy(source.keyType(), source.valueType());
    for (const auto& entry : source) {
      const std::string key = entry.key().isString() ? entry.key().toStringRef() : c10::str(entry.key());
      copy.insert(entry.key(), deep_copy(entry.value(), name + "." + key, tensors));
    }
    return copy;
  }
  if (value.isList()) {
    const auto source = value.toList();
    c10::impl::GenericList copy(source.elementType());
    for (std::size_t i = 0; i < source.size(); ++i) {
      copy.push_back(deep_copy(source.get(i), name + "." + std::to_string(i), tensors));
    }
    return copy;
  }
  return value;  // numbers, strings, None, tuples of numbers: immutable
}

// Throws naming the first tensor with a NaN or inf, with one host synchronisation for all of them.
void check_finite(const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  std::vector<at::Tensor> finite;
  for (const auto& [name, tensor] : tensors) {
    if (at::isFloatingType(tensor.scalar_type())) {
      finite.push_back(at::isfinite(tensor).all());
    } else {
      finite.push_back(at::ones({}, at::kBool));
    }
  }
  if (finite.empty()) {
    return;
  }
  const at::Tensor all = at::stack(finite);
  if (all.all().item<bool>()) {
    return;
  }
  const int64_t first = at::argmin(all.to(at::kInt)).item<int64_t>();
  throw Error(text("'", tensors[static_cast<std::size_t>(first)].first,
                   "' holds NaN or inf: the training state is "
                   "broken, so no checkpoint is written (the ones on disk are those of the last healthy epoch)"));
}

}  // namespace

CheckpointWriter::~CheckpointWriter() {
  try {
    wait();
  } catch (const std::exception& error) {
    log::error(text("checkpoint write failed: ", error.what()));
  }
}

void CheckpointWriter::submit(std::vector<std::string> paths, TrainingState state) {
  wait();
  if (paths.empty()) {
    return;
  }
  in_flight_ = std::async(std::launch::async, [paths = std::move(paths), state = std::move(state)] {
    const auto start = std::chrono::steady_clock::now();
    save_training_checkpoint(paths.front(), state);
    for (std::size_t i = 1; i < paths.size(); ++i) {
      io::link_or_copy_atomically(paths.front(), paths[i]);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto bytes = std::filesystem::file_size(paths.front());
    log::info(text("checkpoint written: ", join(paths), " (", fixed(static_cast<double>(bytes) / (1 << 20), 0),
                   " MiB in ", fixed(seconds, 1), " s, in the background)"));
  });
}

void CheckpointWriter::wait() {
  if (in_flight_.valid()) {
    in_flight_.get();  // rethrows the write's error; leaves the future empty either way
  }
}

TrainingState snapshot_training_state(const torch::nn::Module& model, const Optimizer& optimizer,
                                      const GradScaler& scaler, int64_t epoch, c10::IValue args) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  TrainingState state;
  for (const auto& [name, tensor] : models::state_dict(model)) {
    state.model.emplace_back(name, cpu_copy(tensor));
    tensors.emplace_back(name, state.model.back().second);
  }
  state.optimizer = deep_copy(optimizer.state_dict(), "optimizer", tensors);
  check_finite(tensors);
  state.scaler = scaler.state();
  state.epoch = epoch;
  state.args = std::move(args);
  return state;
}

}  // namespace mae::engine
