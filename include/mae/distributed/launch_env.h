#pragma once
// Who this process is in a multi-process job, read from the launcher's environment as util/misc.py's
// init_distributed_mode does, extended to what each launcher really provides:
//   --dist_on_itp   Open MPI: OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_RANK (/ _LOCAL_SIZE), MASTER_ADDR, MASTER_PORT
//   torchrun        RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK (the node), GROUP_WORLD_SIZE,
//                   MASTER_ADDR, MASTER_PORT and, when its agent hosts the store, TORCHELASTIC_USE_AGENT_STORE=True
//                   (+ TORCHELASTIC_RESTART_COUNT, TORCHELASTIC_MAX_RESTARTS)
//   SLURM srun      SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NODEID, SLURM_NNODES and the tasks per node
//                   (SLURM_NTASKS_PER_NODE, else SLURM_TASKS_PER_NODE); the master is the first host of
//                   SLURM_JOB_NODELIST (or MASTER_ADDR), port MASTER_PORT or 29500
//   --dist_url tcp://host:port  with RANK/WORLD_SIZE (or --world_size) for the rest
// and a single process otherwise.
#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace mae::distributed {

struct LaunchEnv {
  std::string launcher = "single process";  // torchrun, SLURM, Open MPI, --dist_url, single process
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  int node_rank = 0;   // torchrun's GROUP_RANK, SLURM_NODEID; Open MPI: rank / local world size
  int node_count = 1;  // torchrun's GROUP_WORLD_SIZE, SLURM_NNODES; Open MPI: world size / local world size
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_hosts_store = false;  // torchrun's agent runs the TCPStore: no worker may start one
  int restart_count = 0;           // torchrun's TORCHELASTIC_RESTART_COUNT (the store prefix of this attempt)
  int max_restarts = 0;            // torchrun's TORCHELASTIC_MAX_RESTARTS (--max-restarts)

  bool under_torchrun = false;     // TORCHELASTIC_RUN_ID is set

  // Whether to join a process group: with several ranks, and under torchrun even with one (as the reference, which
  // does so whenever RANK and WORLD_SIZE are set), so that `torchrun --nproc-per-node 1` runs the NCCL or Gloo path
  // end to end on one GPU. One task started by SLURM or by plain RANK/WORLD_SIZE variables stays a single process:
  // no store to host on a fixed MASTER_PORT that another job on the node may hold, and no collective per step.
  bool distributed() const { return world_size > 1 || under_torchrun; }
};

// "rank 5 of 8, node 1 of 2, local rank 1 of 4" (+ ", restart 1 of at most 3" under an elastic torchrun): who this
// process is, for the line every rank logs when it joins.
std::string describe_place(const LaunchEnv& env);

// The command line's say in it: --dist_on_itp, --world_size, --dist_url.
struct LaunchSettings {
  bool dist_on_itp = false;
  int world_size = 1;
  std::string dist_url = "env://";
};

using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (std::getenv).
EnvironmentLookup process_environment();

// Reads the launcher's variables; throws UsageError naming the variable when one is malformed or the set is
// inconsistent (a rank outside the world, a world size that disagrees with --world_size).
LaunchEnv detect_launch_env(const LaunchSettings& settings, const EnvironmentLookup& environment);

// The first host of a SLURM node list: "gpu[003-005,9]" -> "gpu003", "a1,b2" -> "a1".
std::string first_slurm_host(const std::string& node_list);

}  // namespace mae::distributed
