#pragma once
// LibTorch's own c10d building blocks for multi-process training: a TCP key-value store for rendezvous and the
// CPU collective backend (Gloo, compiled into libtorch_cpu; headers from Debian's libgloo-dev).
#include <chrono>
#include <string>
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

namespace mae::distributed {

struct TcpStoreOptions {
  std::string host = "127.0.0.1";
  int port = 29500;
  bool is_server = false;  // exactly one process hosts the store (rank 0, unless torchrun's agent hosts it)
  int world_size = 1;
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
};

c10::intrusive_ptr<c10d::Store> make_tcp_store(const TcpStoreOptions& options);

// What went wrong in a c10d call, in one line: LibTorch's message without its C++ backtrace.
std::string failure_reason(const std::exception& error);

// Gloo over TCP on the interface that `hostname` resolves to; with an empty hostname, on the interfaces that
// GLOO_SOCKET_IFNAME lists (comma-separated, as torch.distributed reads it), else on the one this machine's name
// resolves to. Every collective fails after `timeout`.
c10::intrusive_ptr<c10d::Backend> make_cpu_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                   int world_size, const std::string& hostname,
                                                   std::chrono::milliseconds timeout = std::chrono::minutes(5));

}  // namespace mae::distributed
