#pragma once
// Data-parallel gradient averaging, DDP's design in our own small class (c10d's Reducer is not meant for C++ use):
// gradients are copied into flat buckets of about 25 MB (the first 1 MB, as DDP) in reverse registration order, the
// order backward produces them; a bucket's all-reduce starts from an autograd hook the moment its last gradient is
// accumulated, so communication overlaps the rest of the backward pass. finish_backward() waits, divides by the
// world size and writes the means back into .grad.
//
// With a compression dtype (bf16 or fp16), each bucket travels in 16 bits, as PyTorch's bf16_compress_hook /
// fp16_compress_hook: converted, divided by the world size, summed across ranks in 16 bits, and copied back into the
// fp32 bucket. Half the bytes on the wire, for each gradient rounded to 16 bits (8 significant bits for bf16, 11 for
// fp16) before and after the sum.
#include <torch/nn/module.h>

#include <memory>
#include <optional>
#include <vector>

#include "mae/distributed/communicator.h"

namespace mae::distributed {

class GradientSynchronizer {
 public:
  // `parameters`: the trainable ones, in the model's registration order.
  // `compression`: the dtype buckets are all-reduced in (kBFloat16 or kHalf); none: their own.
  GradientSynchronizer(std::vector<at::Tensor> parameters, std::shared_ptr<Communicator> communicator,
                       std::optional<c10::ScalarType> compression = std::nullopt, int64_t bucket_bytes = 25 << 20,
                       int64_t first_bucket_bytes = 1 << 20);
  ~GradientSynchronizer();
  GradientSynchronizer(const GradientSynchronizer&) = delete;
  GradientSynchronizer& operator=(const GradientSynchronizer&) = delete;

  // Whether the next backward pass communicates. False on the non-final micro-steps of --accum_iter (DDP's
  // no_sync): gradients only accumulate locally, and the final micro-step averages the accumulated sums.
  void set_sync(bool sync);
  // After a synchronising backward(): launches any bucket whose gradients did not all arrive (a parameter unused in
  // this step counts as zero), waits for all, and leaves the mean gradient in every parameter's .grad.
  void finish_backward();

  int64_t bucket_count() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Rank 0's parameters and buffers into every rank's model (DDP's initial broadcast), so all ranks start equal.
void broadcast_module(torch::nn::Module& module, Communicator& communicator);

// What a training loop needs in a multi-process job; inactive (no communicator) in a single process.
struct DataParallel {
  std::shared_ptr<Communicator> communicator;
  std::unique_ptr<GradientSynchronizer> gradients;
  std::vector<at::Tensor> buffers;  // the model's (a BatchNorm's running statistics); none for the MAE and ViT

  bool active() const { return communicator != nullptr; }
  // Sums values across ranks (MetricLogger::synchronize); leaves them alone in a single process.
  void sum(std::vector<double>& values, const std::string& what) const;
  // DDP's broadcast_buffers: every rank takes rank 0's buffers, before each training forward and before evaluation,
  // so that all ranks train from, evaluate with, and rank 0 saves, the same BatchNorm statistics (linear probing's
  // head). Nothing to do in a single process or for a model without buffers.
  void broadcast_buffers() const;
};

// Broadcasts rank 0's model and hooks the gradients of its trainable parameters (call once requires_grad is final,
// after moving the model to its device), all-reduced in `compression` when given. Inactive when `communicator` is
// null.
DataParallel make_data_parallel(torch::nn::Module& model, std::shared_ptr<Communicator> communicator,
                                std::optional<c10::ScalarType> compression = std::nullopt);

}  // namespace mae::distributed
