#pragma once
// A multi-process job on loopback for tests: the parent hosts the store as torchrun's agent does, and each worker
// process joins as one rank.
#include <c10/util/intrusive_ptr.h>

#include <functional>
#include <string>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <utility>
#include <vector>

#include "mae/distributed/launch_env.h"
#include "support/test_support.h"

namespace mae::test {

// The agent's store for `world_size` ranks on a free port; returns it (keep it alive) and the port.
std::pair<c10::intrusive_ptr<c10d::Store>, std::string> host_agent_store(int world_size);

// A TCP port that was free a moment ago (a store bound it to port 0 and let it go): MASTER_PORT for a job of
// executables the test starts itself.
int free_port();

// `command` (an executable with its arguments, perhaps after variable assignments) run as both ranks of a SLURM-style
// job on loopback at once: SLURM_PROCID and SLURM_LOCALID 0 and 1, MASTER_ADDR 127.0.0.1 and a free port. The output
// of both ends with "exit codes A B"; the exit code is 0 when both ranks succeeded, else 1.
CommandResult run_two_slurm_ranks(const std::string& command);

// Worker `name` (test_support.h) started as every rank of a `world_size`-rank job on loopback, the store hosted here:
// rank r's arguments are r, the port, then arguments_of(r). Returns the ranks' exit codes, in rank order, once all
// have ended (-1 for a rank killed after `timeout_seconds`).
std::vector<int> run_loopback_job(const std::string& name, int world_size,
                                  const std::function<std::vector<std::string>(int rank)>& arguments_of,
                                  int timeout_seconds);

// Rank `rank`'s launch environment in that job.
distributed::LaunchEnv loopback_rank(int rank, int world_size, int port);

}  // namespace mae::test
