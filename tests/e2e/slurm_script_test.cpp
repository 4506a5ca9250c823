// scripts/slurm_pretrain.sbatch as sbatch would run it on 2 nodes, with stand-ins for srun (one task a node, with the
// variables srun sets) and scontrol (the node list's hosts, and a record of requeues): the job trains across the two
// "nodes" with no edit to the script; a crash requeues the job until MAX_REQUEUES crashes in a row; a usage error
// does not.
#include <gtest/gtest.h>

#include <fstream>

#include "support/loopback_job.h"
#include "support/test_support.h"

namespace {

using mae::test::run_command;
using mae::test::shell_quote;

void write_executable(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
  std::filesystem::permissions(path, std::filesystem::perms::owner_all, std::filesystem::perm_options::add);
}

// srun: every task of SLURM_NTASKS (SLURM_NTASKS_PER_NODE a node) runs the command with its SLURM_* variables;
// the exit status is the first failing task's. scontrol: `show hostnames` lists loopback addresses, `requeue` is
// written to $FAKE_SLURM_LOG.
void write_fake_slurm(const std::filesystem::path& bin) {
  std::filesystem::create_directories(bin);
  write_executable(bin / "srun", R"(#!/usr/bin/env bash
while [[ $1 == --* ]]; do shift; done
pids=()
for ((rank = 0; rank < SLURM_NTASKS; rank++)); do
  SLURM_PROCID=$rank SLURM_LOCALID=$((rank % SLURM_NTASKS_PER_NODE)) SLURM_NODEID=$((rank / SLURM_NTASKS_PER_NODE)) \
    "$@" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || { code=$?; [[ $status -eq 0 ]] && status=$code; }; done
exit $status
)");
  write_executable(bin / "scontrol", R"(#!/usr/bin/env bash
case $1 in
  show) printf '127.0.0.1\n127.0.0.2\n' ;;
  requeue) echo "requeue $2" >> "$FAKE_SLURM_LOG" ;;
esac
)");
}

struct ScriptRun {
  mae::test::CommandResult result;
  std::string requeues;  // what scontrol was asked to requeue
};

ScriptRun run_sbatch(const mae::test::TempDir& dir, const std::string& name, const std::string& extra) {
  const auto log = dir / (name + ".requeues");
  const std::string command =
      "cd " + shell_quote(mae::test::source_dir().string()) + " && PATH=" + shell_quote((dir / "bin").string()) +
      ":$PATH FAKE_SLURM_LOG=" + shell_quote(log.string()) +
      " SLURM_JOB_ID=42 SLURM_JOB_NODELIST='node[1-2]' SLURM_NNODES=2 SLURM_NTASKS=2 SLURM_NTASKS_PER_NODE=1" +
      " GLOO_SOCKET_IFNAME=lo OMP_NUM_THREADS=1 MASTER_PORT=" + std::to_string(mae::test::free_port()) +
      " MAE_BIN=" + shell_quote(mae::test::binary_dir().string()) + " DATA=" + shell_quote((dir / "data").string()) +
      " OUT=" + shell_quote((dir / name).string()) +
      " EXTRA=" + shell_quote("--model mae_vit_tiny_patch4 --input_size 16 --batch_size 2 --epochs 1 --blr 0.05 "
                              "--warmup_epochs 0 --device cpu --num_workers 1 --dist_timeout 60 " + extra) +
      " bash scripts/slurm_pretrain.sbatch";
  return {run_command(command), mae::test::read_file(log)};
}

TEST(SlurmScript, TrainsOnTwoNodesAndRequeuesAfterACrashOnly) {
  mae::test::TempDir dir;
  write_fake_slurm(dir / "bin");
  mae::test::write_random_images(dir / "data", 16, 4);

  const auto trained = run_sbatch(dir, "trained", "");
  ASSERT_EQ(trained.result.exit_code, 0) << trained.result.output;
  EXPECT_NE(trained.result.output.find("rank 1 of 2, node 1 of 2, local rank 0 of 1"), std::string::npos)
      << trained.result.output;
  EXPECT_NE(trained.result.output.find("rendezvous 127.0.0.1:"), std::string::npos) << trained.result.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "trained" / "checkpoint-0.pth"));
  EXPECT_EQ(trained.requeues, "");
  EXPECT_FALSE(std::filesystem::exists(dir / "trained" / "slurm_requeues_after_crashes"));

  // An unreadable image under --strict_data: a runtime error (exit code 1), as a crash.
  std::filesystem::create_directories(dir / "data" / "broken");
  std::ofstream(dir / "data" / "broken" / "image.jpg") << "not an image";
  const auto crashed = run_sbatch(dir, "crashed", "--strict_data");
  EXPECT_EQ(crashed.result.exit_code, 0) << crashed.result.output;  // the script requeued the job
  EXPECT_NE(crashed.result.output.find("failed with exit code 1; requeue 1 of 3"), std::string::npos)
      << crashed.result.output;
  EXPECT_EQ(crashed.requeues, "requeue 42\n");
  EXPECT_EQ(mae::test::read_file(dir / "crashed" / "slurm_requeues_after_crashes"), "1\n");
  // The third crash in a row was the last to requeue.
  std::filesystem::create_directories(dir / "gave_up");
  std::ofstream(dir / "gave_up" / "slurm_requeues_after_crashes") << "3\n";
  const auto gave_up = run_sbatch(dir, "gave_up", "--strict_data");
  EXPECT_EQ(gave_up.result.exit_code, 1) << gave_up.result.output;
  EXPECT_EQ(gave_up.requeues, "");

  const auto usage = run_sbatch(dir, "usage", "--epochs -1");  // a restart would fail the same way
  EXPECT_EQ(usage.result.exit_code, 2) << usage.result.output;
  EXPECT_EQ(usage.requeues, "");
}

}  // namespace
