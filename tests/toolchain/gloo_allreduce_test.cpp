// Toolchain proof (b): two processes all-reduce CPU tensors through a real c10d backend (Gloo, compiled into the
// wheel's libtorch_cpu, driven through ProcessGroupGloo with Debian's gloo headers). The parent hosts the store, as
// torchrun's agent does, and the ranks are clients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <iostream>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "mae/distributed/process_group.h"
#include "support/test_support.h"

namespace {

constexpr int kWorldSize = 2;

// args: rank port
int allreduce_worker(const std::vector<std::string>& args) {
  const int rank = std::stoi(args.at(0));
  mae::distributed::TcpStoreOptions options;
  options.port = std::stoi(args.at(1));
  options.world_size = kWorldSize;
  options.timeout = std::chrono::seconds(30);
  auto store = mae::distributed::make_tcp_store(options);
  auto backend = mae::distributed::make_cpu_backend(store, rank, kWorldSize, "127.0.0.1", std::chrono::seconds(30));

  // Rank r contributes r+1 everywhere, plus a rank-specific ramp so that a wrong reduction cannot pass by accident.
  std::vector<at::Tensor> tensors{torch::arange(6, torch::kFloat32) * (rank + 1) + rank};
  backend->allreduce(tensors)->wait();
  const at::Tensor expected = torch::arange(6, torch::kFloat32) * 3 + 1;  // (1 + 2) * i + (0 + 1)
  if (!torch::equal(tensors[0], expected)) {
    std::cerr << "rank " << rank << " got " << tensors[0] << '\n';
    return 3;
  }
  std::vector<at::Tensor> broadcast{torch::full({3}, static_cast<double>(rank + 10))};
  backend->broadcast(broadcast)->wait();  // root rank 0
  return torch::equal(broadcast[0], torch::full({3}, 10.0)) ? 0 : 4;
}

const mae::test::WorkerRegistration registration("gloo_allreduce", allreduce_worker);

TEST(GlooBackend, TwoProcessesAllReduceOnLoopback) {
  mae::distributed::TcpStoreOptions host;
  host.port = 0;
  host.is_server = true;
  host.world_size = kWorldSize;
  auto store = mae::distributed::make_tcp_store(host);
  const std::string port = std::to_string(dynamic_cast<c10d::TCPStore&>(*store).getPort());

  std::vector<int> pids;
  for (int rank = 0; rank < kWorldSize; ++rank) {
    pids.push_back(mae::test::start_worker("gloo_allreduce", {std::to_string(rank), port}));
  }
  for (int rank = 0; rank < kWorldSize; ++rank) {
    EXPECT_EQ(mae::test::wait_worker(pids[rank], 120), 0) << "rank " << rank;
  }
}

}  // namespace
