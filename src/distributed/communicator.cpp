#include "mae/distributed/communicator.h"

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#ifdef MAE_WITH_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "mae/distributed/process_group.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::distributed {

struct Communicator::Backend {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
};

namespace {

// torch.distributed's rendezvous: under torchrun's agent store the workers are clients below the prefix of this
// restart attempt; otherwise rank 0 hosts the store.
c10::intrusive_ptr<c10d::Store> join_store(const LaunchEnv& env, std::chrono::milliseconds timeout) {
  TcpStoreOptions options;
  options.host = env.master_addr;
  options.port = env.master_port;
  options.is_server = !env.agent_hosts_store && env.rank == 0;
  options.world_size = env.world_size;
  options.timeout = timeout;
  auto store = make_tcp_store(options);
  if (env.agent_hosts_store) {
    return c10::make_intrusive<c10d::PrefixStore>(text("/worker/attempt_", env.restart_count), store);
  }
  return store;
}

}  // namespace

Communicator::Communicator(const LaunchEnv& env, const at::Device& device, std::chrono::milliseconds timeout)
    : env_(env), device_(device), timeout_(timeout), backend_(std::make_unique<Backend>()) {
  backend_->store = join_store(env, timeout);
  const auto prefixed = c10::make_intrusive<c10d::PrefixStore>("default_pg", backend_->store);
  try {
    if (device.is_cuda()) {
#ifdef MAE_WITH_NCCL
      c10::cuda::set_device(device.index());
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      backend_->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, env.rank, env.world_size, options);
#else
      throw UsageError("this build has no NCCL (nccl.h was not found at configure time): multi-GPU training needs "
                       "it; see docs/distributed.md");
#endif
    } else {
      // Gloo on the address the other ranks reach us at: the loopback for a single node; otherwise the interfaces
      // of GLOO_SOCKET_IFNAME, or the one this host's name resolves to.
      const std::string hostname = env.master_addr == "127.0.0.1" || env.master_addr == "localhost"
                                       ? std::string("127.0.0.1")
                                       : std::string();
      backend_->backend = make_cpu_backend(prefixed, env.rank, env.world_size, hostname, timeout);
    }
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& error) {
    throw Error(text("rank ", env.rank, " of ", env.world_size, ": cannot join the process group at ", env.master_addr,
                     ":", env.master_port, " within ", timeout.count() / 1000, " s: ", failure_reason(error)));
  }
}

Communicator::~Communicator() = default;

Communicator::Wait Communicator::all_reduce_sum_async(at::Tensor tensor, const std::string& what) {
  std::vector<at::Tensor> tensors{std::move(tensor)};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::SUM;  // Gloo has no AVG
  options.timeout = timeout_;
  c10::intrusive_ptr<c10d::Work> work;
  try {
    work = backend_->backend->allreduce(tensors, options);
  } catch (const std::exception& error) {
    throw Error(text("rank ", env_.rank, ": ", what, " failed to start: ", failure_reason(error)));
  }
  return [work, what, rank = env_.rank, seconds = timeout_.count() / 1000] {
    try {
      work->wait();
    } catch (const std::exception& error) {
      throw Error(text("rank ", rank, ": ", what, " failed (another rank exited or did not answer within ", seconds,
                       " s): ", failure_reason(error)));
    }
  };
}

void Communicator::all_reduce_sum(std::vector<double>& values, const std::string& what) {
  at::Tensor tensor = at::tensor(values, at::TensorOptions().dtype(at::kDouble)).to(device_);
  all_reduce_sum(tensor, what);
  tensor = tensor.cpu();
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = tensor[static_cast<int64_t>(i)].item<double>();
  }
}

void Communicator::broadcast_from_rank0(std::vector<at::Tensor> tensors, const std::string& what) {
  c10d::BroadcastOptions options;
  options.rootRank = 0;
  options.timeout = timeout_;
  for (auto& tensor : tensors) {
    std::vector<at::Tensor> one{tensor};
    try {
      backend_->backend->broadcast(one, options)->wait();
    } catch (const std::exception& error) {
      throw Error(text("rank ", env_.rank, ": ", what, " failed: ", failure_reason(error)));
    }
  }
}

}  // namespace mae::distributed
