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

std::vector<int> run_loopback_job(const std::string& name, int world_size,
                                  const std::function<std::vector<std::string>(int rank)>& arguments_of,
                                  int timeout_seconds) {
  const auto [store, port] = host_agent_store(world_size);
  std::vector<int> pids;
  for (int rank = 0; rank < world_size; ++rank) {
    std::vector<std::string> arguments{std::to_string(rank), port};
    for (auto& argument : arguments_of(rank)) {
      arguments.push_back(std::move(argument));
    }
    pids.push_back(start_worker(name, arguments));
  }
  std::vector<int> exit_codes;
  for (const int pid : pids) {
    exit_codes.push_back(wait_worker(pid, timeout_seconds));
  }
  return exit_codes;
}

CommandResult run_two_slurm_ranks(const std::string& command) {
  const std::string common = "SLURM_NTASKS=2 SLURM_NTASKS_PER_NODE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" +
                             std::to_string(free_port()) + " ";
  return run_command("(" + common + "SLURM_PROCID=0 SLURM_LOCALID=0 " + command + " & rank0=$!; " + common +
                     "SLURM_PROCID=1 SLURM_LOCALID=1 " + command + " & rank1=$!; wait $rank0; s0=$?; wait $rank1; " +
                     "s1=$?; echo \"exit codes $s0 $s1\"; [ $s0 -eq 0 ] && [ $s1 -eq 0 ])");
}

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
