#include "support/loopback_job.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "mae/distributed/process_group.h"

namespace mae::test {

std::pair<c10::intrusive_ptr<c10d::Store>, std::string> host_agent_store(int world_size) {
  distributed::TcpStoreOptions options;
  options.port = 0;
  options.is_server = true;
  options.world_size = world_size;
  auto store = distributed::make_tcp_store(options);
  return {store, std::to_string(dynamic_cast<c10d::TCPStore&>(*store).getPort())};
}

int free_port() { return std::stoi(host_agent_store(1).second); }

distributed::LaunchEnv loopback_rank(int rank, int world_size, int port) {
  distributed::LaunchEnv env;
  env.launcher = "test";
  env.rank = rank;
  env.world_size = world_size;
  env.master_port = port;
  env.agent_hosts_store = true;  // the parent plays torchrun's agent
  return env;
}

}  // namespace mae::test
