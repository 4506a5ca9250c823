#pragma once
// Which device a process trains on. Every `cuda` is made an explicit cuda:N once, at start, so that everything after
// (the NCCL communicator, the CUDA allocator's statistics, autocast) sees one definite device.
#include <c10/core/Device.h>

#include <string>

#include "mae/distributed/launch_env.h"

namespace mae::distributed {

// --device (cpu, cuda or cuda:N, already validated) and the launcher's environment, with `device_count` GPUs
// visible to this process and `current_device` CUDA's current one:
//   cpu                         -> cpu
//   cuda, one process           -> cuda:current_device
//   cuda, several processes     -> cuda:(local_rank % device_count), as util/misc.py's init_distributed_mode: a
//                                  cluster that binds one GPU per task (SLURM --gpus-per-task=1) shows each rank
//                                  only cuda:0, and a node with 8 visible GPUs gives local rank r cuda:r
//   cuda:N, one process per node -> cuda:N
//   cuda:N, several on a node   -> UsageError when each rank sees several GPUs: every rank of the node would take
//                                  the same one (NCCL: "Duplicate GPU detected"); with one visible GPU per rank,
//                                  cuda:0 is each rank's own
// UsageError as well when a GPU is asked for and none is visible, or N is not below device_count.
c10::Device bind_device(const std::string& device, const LaunchEnv& launch, int device_count, int current_device);

// bind_device with this process's CUDA runtime (device count and current device through ATen's CUDA hooks, so that
// no CUDA header is needed here).
c10::Device bind_device(const std::string& device, const LaunchEnv& launch);

}  // namespace mae::distributed
