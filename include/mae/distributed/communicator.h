#pragma once
// The collectives a multi-process job needs, over LibTorch's c10d backends: NCCL for CUDA tensors, Gloo for CPU
// ones. All c10d use sits behind this class (its API changes between releases). Every collective has a timeout, and a
// failure (a rank that exited or hangs) becomes an Error that names the operation, this rank and the timeout.
#include <ATen/core/Tensor.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mae/distributed/launch_env.h"

namespace mae::distributed {

class Communicator {
 public:
  // Joins the job `env` describes: the rendezvous store (hosted by rank 0, or by torchrun's agent), then the backend
  // for `device` (NCCL for CUDA, Gloo for the CPU). Waits up to `timeout` for the other ranks.
  Communicator(const LaunchEnv& env, const at::Device& device, std::chrono::milliseconds timeout);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int world_size() const { return env_.world_size; }

  // Starts summing `tensor` in place across ranks; the returned function waits for it (throwing Error on failure).
  using Wait = std::function<void()>;
  Wait all_reduce_sum_async(at::Tensor tensor, const std::string& what);
  void all_reduce_sum(at::Tensor tensor, const std::string& what) { all_reduce_sum_async(std::move(tensor), what)(); }
  // Element-wise sum of `values` across ranks (on the CPU or the device, whichever the backend takes).
  void all_reduce_sum(std::vector<double>& values, const std::string& what);
  // Copies rank 0's tensors into every other rank's.
  void broadcast_from_rank0(std::vector<at::Tensor> tensors, const std::string& what);

 private:
  struct Backend;
  LaunchEnv env_;
  at::Device device_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Backend> backend_;
};

}  // namespace mae::distributed
