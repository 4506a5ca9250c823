// mae_pretrain as two processes on the CPU: under the real torchrun --no-python (its agent hosts the store), and as
// srun would start it (SLURM variables; rank 0 hosts the store).
#include <gtest/gtest.h>

#include "support/loopback_job.h"
#include "support/test_support.h"

namespace {

using mae::test::run_command;
using mae::test::shell_quote;

std::filesystem::path make_images(const mae::test::TempDir& dir) {
  mae::test::write_random_images(dir / "data", 32, 2);
  return dir / "data";
}

std::string pretrain_args(const std::filesystem::path& data, const std::filesystem::path& out) {
  return " --model mae_vit_tiny_patch4 --input_size 16 --batch_size 4 --epochs 1 --device cpu --num_workers 1 "
         "--dist_timeout 60 --data_path " + shell_quote(data.string()) + " --output_dir " + shell_quote(out.string()) +
         " --log_dir " + shell_quote(out.string());
}

// What only rank 0 writes, once: the epoch's log line and the checkpoint; its log says who trained.
void expect_one_job_of_two_ranks(const std::filesystem::path& out, const std::string& output,
                                 const std::string& launcher) {
  EXPECT_NE(output.find("distributed init (rank 0): " + launcher + ", world size 2"), std::string::npos) << output;
  EXPECT_NE(output.find("effective batch size: 8"), std::string::npos) << output;
  EXPECT_TRUE(std::filesystem::exists(out / "checkpoint-0.pth"));
  EXPECT_EQ(mae::test::log_lines(out).size(), 1u);
  const auto board = mae::test::read_tensorboard(out);  // rank 0's event file only
  EXPECT_EQ(board.value("files", 0), 1) << board.dump();
  EXPECT_FALSE(board.value("scalars", nlohmann::json::object()).value("train_loss", nlohmann::json::array()).empty());
  EXPECT_EQ(mae::test::read_file(out / "mae_pretrain.log").find("[rank 1]"), std::string::npos)
      << "rank 1 wrote to rank 0's log file";
}

// mae_pretrain under the real torchrun --no-python with `processes` per node, writing to <dir>/out.
mae::test::CommandResult torchrun(int processes, const mae::test::TempDir& dir) {
  return run_command(shell_quote(mae::test::python()) + " -m torch.distributed.run --standalone --nproc-per-node " +
                     std::to_string(processes) + " --no-python " + mae::test::app("mae_pretrain") +
                     pretrain_args(make_images(dir), dir / "out"));
}

TEST(DistributedLaunch, TorchrunNoPythonStartsTwoRanks) {
  mae::test::TempDir dir;
  const auto result = torchrun(2, dir);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  expect_one_job_of_two_ranks(dir / "out", result.output, "torchrun");
  EXPECT_NE(result.output.find("(torchrun's store)"), std::string::npos) << result.output;
}

// One process under torchrun still goes through the process group, the start-up broadcast and the gradient
// all-reduce, as the reference (and gpu_check.sh's one-GPU NCCL step) expects.
TEST(DistributedLaunch, TorchrunWithOneProcessJoinsAProcessGroup) {
  mae::test::TempDir dir;
  const auto result = torchrun(1, dir);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("distributed init (rank 0): torchrun, world size 1"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("backend Gloo"), std::string::npos) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "checkpoint-0.pth"));
}

TEST(DistributedLaunch, SlurmVariablesStartTwoRanks) {
  mae::test::TempDir dir;
  const auto data = make_images(dir);
  const std::string binary = mae::test::app("mae_pretrain");
  // The master named by its address, not "localhost", so Gloo takes its device from GLOO_SOCKET_IFNAME as on a
  // multi-node cluster.
  const std::string common = "SLURM_NTASKS=2 SLURM_NTASKS_PER_NODE=2 SLURM_JOB_NODELIST=ip6-unused MASTER_ADDR=127.0.0.2 "
                             "GLOO_SOCKET_IFNAME=lo MASTER_PORT=" + std::to_string(mae::test::free_port()) + " OMP_NUM_THREADS=1 ";
  // Rank 1 in the background, rank 0 in the foreground; the exit status is rank 0's once both have ended.
  const auto result = run_command("(" + common + "SLURM_PROCID=1 SLURM_LOCALID=1 " + binary + pretrain_args(data, dir / "out") +
                                  " > " + shell_quote((dir / "rank1").string()) + " 2>&1 & " + common +
                                  "SLURM_PROCID=0 SLURM_LOCALID=0 " + binary + pretrain_args(data, dir / "out") +
                                  "; status=$?; wait; exit $status)");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  expect_one_job_of_two_ranks(dir / "out", result.output, "SLURM");
}

}  // namespace
