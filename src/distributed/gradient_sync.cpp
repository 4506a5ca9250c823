#include "mae/distributed/gradient_sync.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <mutex>

#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::distributed {

struct Bucket {
  std::vector<std::size_t> members;  // indices into State::parameters
  std::vector<int64_t> offsets;      // of each member in `flat`
  at::Tensor flat;
  at::Tensor wire;  // with compression: the 16-bit copy that is all-reduced, allocated once
  std::size_t ready = 0;
  Communicator::Wait wait;  // set once the all-reduce is launched
};

struct GradientSynchronizer::State {
  std::vector<at::Tensor> parameters;
  std::vector<std::size_t> bucket_of;        // parameter -> bucket
  std::vector<std::size_t> slot_of;          // parameter -> position in its bucket
  std::vector<bool> arrived;                 // parameter's gradient copied in this backward
  std::vector<Bucket> buckets;
  // Kept alive: autograd holds them weakly. (LibTorch 2.13 returns an intrusive_ptr, older releases a shared_ptr.)
  std::vector<decltype(torch::autograd::impl::grad_accumulator(std::declval<at::Tensor>()))> accumulators;
  std::vector<uintptr_t> hook_keys;
  std::shared_ptr<Communicator> communicator;
  std::optional<c10::ScalarType> compression;
  bool sync = true;
  std::mutex mutex;  // autograd may run hooks of different devices on different threads

  void launch(Bucket& bucket, std::size_t index) {
    if (compression) {  // the compress hooks' order: convert, then divide (in 16 bits)
      bucket.wire.copy_(bucket.flat).div_(communicator->world_size());
    }
    bucket.wait = communicator->all_reduce_sum_async(compression ? bucket.wire : bucket.flat,
                                                     text("all-reduce of gradient bucket ", index));
  }

  // The post-accumulation hook of parameter `i`: its .grad now holds this backward's (accumulated) gradient.
  void gradient_ready(std::size_t i) {
    if (!sync) {
      return;
    }
    const std::lock_guard<std::mutex> lock(mutex);
    Bucket& bucket = buckets[bucket_of[i]];
    const std::size_t slot = slot_of[i];
    const at::Tensor& grad = parameters[i].grad();
    at::Tensor view = bucket.flat.narrow(0, bucket.offsets[slot], parameters[i].numel());
    const c10::NoGradGuard no_grad;
    view.copy_(grad.reshape({-1}));
    if (!arrived[i]) {
      arrived[i] = true;
      if (++bucket.ready == bucket.members.size()) {
        launch(bucket, bucket_of[i]);
      }
    }
  }
};

GradientSynchronizer::GradientSynchronizer(std::vector<at::Tensor> parameters,
                                           std::shared_ptr<Communicator> communicator,
                                           std::optional<c10::ScalarType> compression, int64_t bucket_bytes,
                                           int64_t first_bucket_bytes)
    : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.parameters = std::move(parameters);
  s.communicator = std::move(communicator);
  s.compression = compression;
  const std::size_t count = s.parameters.size();
  s.bucket_of.resize(count);
  s.slot_of.resize(count);
  s.arrived.assign(count, false);
  // Reverse order: the last layers' gradients come first in backward. A bucket holds one dtype and device.
  int64_t bytes = 0;
  for (std::size_t k = count; k-- > 0;) {
    const at::Tensor& p = s.parameters[k];
    const int64_t cap = s.buckets.size() <= 1 ? first_bucket_bytes : bucket_bytes;
    const bool fits = !s.buckets.empty() && bytes < cap &&
                      s.buckets.back().flat.scalar_type() == p.scalar_type() &&
                      s.buckets.back().flat.device() == p.device();
    if (!fits) {
      s.buckets.emplace_back();
      s.buckets.back().flat = at::empty({0}, p.options());
      bytes = 0;
    }
    Bucket& bucket = s.buckets.back();
    s.bucket_of[k] = s.buckets.size() - 1;
    s.slot_of[k] = bucket.members.size();
    bucket.offsets.push_back(bucket.members.empty() ? 0 : bucket.offsets.back() + s.parameters[bucket.members.back()].numel());
    bucket.members.push_back(k);
    bytes += p.numel() * static_cast<int64_t>(p.element_size());
  }
  for (Bucket& bucket : s.buckets) {
    const int64_t numel = bucket.offsets.back() + s.parameters[bucket.members.back()].numel();
    bucket.flat = at::zeros({numel}, bucket.flat.options());
    if (s.compression) {
      bucket.wire = at::empty({numel}, bucket.flat.options().dtype(*s.compression));
    }
  }
  // Hooks on each parameter's AccumulateGrad node run after the gradient is added into .grad.
  std::weak_ptr<State> weak = state_;
  for (std::size_t i = 0; i < count; ++i) {
    auto accumulator = torch::autograd::impl::grad_accumulator(s.parameters[i]);
    s.hook_keys.push_back(accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
        [weak, i](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
          if (auto state = weak.lock()) {
            state->gradient_ready(i);
          }
          return outputs;
        })));
    s.accumulators.push_back(std::move(accumulator));
  }
}

GradientSynchronizer::~GradientSynchronizer() {
  for (std::size_t i = 0; i < state_->accumulators.size(); ++i) {
    state_->accumulators[i]->del_post_hook(state_->hook_keys[i]);
  }
}

void GradientSynchronizer::set_sync(bool sync) { state_->sync = sync; }

int64_t GradientSynchronizer::bucket_count() const { return static_cast<int64_t>(state_->buckets.size()); }

void GradientSynchronizer::finish_backward() {
  State& s = *state_;
  if (!s.sync) {
    return;
  }
  const c10::NoGradGuard no_grad;
  for (std::size_t b = 0; b < s.buckets.size(); ++b) {
    Bucket& bucket = s.buckets[b];
    if (!bucket.wait) {  // some parameters got no gradient this step: they contribute zeros, as DDP's unused ones
      for (std::size_t slot = 0; slot < bucket.members.size(); ++slot) {
        if (!s.arrived[bucket.members[slot]]) {
          bucket.flat.narrow(0, bucket.offsets[slot], s.parameters[bucket.members[slot]].numel()).zero_();
        }
      }
      s.launch(bucket, b);
    }
  }
  const double scale = 1.0 / static_cast<double>(s.communicator->world_size());
  for (Bucket& bucket : s.buckets) {
    bucket.wait();
    bucket.wait = nullptr;
    bucket.ready = 0;
    if (s.compression) {  // already divided before the sum
      bucket.flat.copy_(bucket.wire);
    } else {
      bucket.flat.mul_(scale);
    }
    for (std::size_t slot = 0; slot < bucket.members.size(); ++slot) {
      at::Tensor& p = s.parameters[bucket.members[slot]];
      const at::Tensor mean = bucket.flat.narrow(0, bucket.offsets[slot], p.numel()).view_as(p);
      if (p.grad().defined()) {
        p.mutable_grad().copy_(mean);
      } else {
        p.mutable_grad() = mean.clone();
      }
    }
  }
  std::fill(s.arrived.begin(), s.arrived.end(), false);
}

void broadcast_module(torch::nn::Module& module, Communicator& communicator) {
  std::vector<at::Tensor> tensors;
  for (const auto& parameter : module.parameters()) {
    tensors.push_back(parameter);
  }
  for (const auto& buffer : module.buffers()) {
    tensors.push_back(buffer);
  }
  const c10::NoGradGuard no_grad;
  communicator.broadcast_from_rank0(tensors, "broadcast of the initial parameters");
}

void DataParallel::sum(std::vector<double>& values, const std::string& what) const {
  if (communicator) {
    communicator->all_reduce_sum(values, what);
  }
}

void DataParallel::broadcast_buffers() const {
  if (communicator && !buffers.empty()) {
    const c10::NoGradGuard no_grad;
    communicator->broadcast_from_rank0(buffers, "broadcast of the BatchNorm statistics");
  }
}

DataParallel make_data_parallel(torch::nn::Module& model, std::shared_ptr<Communicator> communicator,
                                std::optional<c10::ScalarType> compression) {
  DataParallel parallel;
  if (!communicator) {
    return parallel;
  }
  broadcast_module(model, *communicator);
  std::vector<at::Tensor> trainable;
  for (const auto& parameter : model.parameters()) {
    if (parameter.requires_grad()) {
      trainable.push_back(parameter);
    }
  }
  int64_t bytes = 0;
  for (const auto& parameter : trainable) {
    bytes += parameter.numel() * static_cast<int64_t>(parameter.element_size());
  }
  parallel.gradients = std::make_unique<GradientSynchronizer>(std::move(trainable), communicator, compression);
  for (const auto& buffer : model.buffers()) {
    parallel.buffers.push_back(buffer);
  }
  const double mib = static_cast<double>(bytes) / (1 << 20);
  log::info(text("gradient all-reduce: ", fixed(mib, 1), " MiB in ", parallel.gradients->bucket_count(),
                 " buckets, started during backward",
                 compression ? text("; sent as ", c10::toString(*compression), ": ", fixed(mib / 2, 1), " MiB a step")
                             : std::string()));
  parallel.communicator = std::move(communicator);
  return parallel;
}

}  // namespace mae::distributed
