// Every `cuda` becomes one definite GPU at start: the current one in a single process, local_rank % visible GPUs
// under a launcher (torchrun's 8 per node, SLURM's one GPU per task), and cuda:N refused where several ranks of a
// node would share it.
#include "mae/distributed/device_binding.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::distributed::bind_device;
using mae::distributed::LaunchEnv;

LaunchEnv launched(int local_rank, int local_world_size) {
  LaunchEnv env;
  env.launcher = "torchrun";
  env.world_size = 16;
  env.rank = 8 + local_rank;
  env.local_rank = local_rank;
  env.local_world_size = local_world_size;
  return env;
}

TEST(DeviceBinding, BareCudaBecomesAnExplicitGpu) {
  EXPECT_EQ(bind_device("cpu", LaunchEnv{}, 0, 0), c10::Device(c10::kCPU));
  EXPECT_EQ(bind_device("cuda", LaunchEnv{}, 4, 2), c10::Device("cuda:2"));  // one process: CUDA's current device
  for (int local_rank = 0; local_rank < 8; ++local_rank) {                   // 8 GPUs visible to each of 8 ranks
    EXPECT_EQ(bind_device("cuda", launched(local_rank, 8), 8, 0).index(), local_rank);
  }
  // SLURM --gpus-per-task=1: every rank sees only its own GPU, as cuda:0 (util/misc.py's local_rank % count).
  EXPECT_EQ(bind_device("cuda", launched(5, 8), 1, 0), c10::Device("cuda:0"));
  EXPECT_EQ(bind_device("cuda", launched(5, 8), 4, 0), c10::Device("cuda:1"));
}

TEST(DeviceBinding, AnExplicitGpuIsKeptWhereOnlyOneRankOfTheNodeTakesIt) {
  EXPECT_EQ(bind_device("cuda:1", LaunchEnv{}, 2, 0), c10::Device("cuda:1"));
  EXPECT_EQ(bind_device("cuda:1", launched(0, 1), 2, 0), c10::Device("cuda:1"));  // one process per node
  const std::string shared = mae::test::error_of<mae::UsageError>([] { bind_device("cuda:1", launched(3, 8), 8, 0); });
  EXPECT_NE(shared.find("--device cuda:1 with 8 processes on this node would put all of them on GPU 1"),
            std::string::npos)
      << shared;
  EXPECT_NE(shared.find("use --device cuda"), std::string::npos) << shared;
  // One visible GPU per rank (SLURM --gpus-per-task=1): each rank's cuda:0 is its own.
  EXPECT_EQ(bind_device("cuda:0", launched(3, 8), 1, 0), c10::Device("cuda:0"));
}

TEST(DeviceBinding, MissingGpusAreNamed) {
  EXPECT_EQ(mae::test::error_of<mae::UsageError>([] { bind_device("cuda:4", LaunchEnv{}, 2, 0); }),
            "--device cuda:4: this process sees 2 GPUs (cuda:0..cuda:1); check CUDA_VISIBLE_DEVICES or the "
            "scheduler's GPU binding");
  EXPECT_NE(mae::test::error_of<mae::UsageError>([] {
              bind_device("cuda", launched(0, 2), 0, 0);
            }).find("CUDA is not available"),
            std::string::npos);
  // This process's own CUDA runtime: without a GPU, asking for one is a usage error, the CPU always binds.
  EXPECT_EQ(bind_device("cpu", LaunchEnv{}), c10::Device(c10::kCPU));
  if (!torch::cuda::is_available()) {
    EXPECT_THROW(bind_device("cuda", LaunchEnv{}), mae::UsageError);
  } else {
    EXPECT_TRUE(bind_device("cuda", LaunchEnv{}).has_index());
  }
}

}  // namespace
