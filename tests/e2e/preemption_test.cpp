// Preemption end to end: mae_pretrain stopped by SIGUSR1 in the middle of an epoch writes checkpoint-last.pth with its
// position and exits 75; --resume auto continues from that step, and the run ends with exactly the weights of an
// uninterrupted one. In one process, and in two Gloo ranks of which only one receives the signal.
#include <gtest/gtest.h>

#include "mae/engine/checkpoint.h"
#include "support/loopback_job.h"
#include "support/test_support.h"
#include "support/training_state_compare.h"

namespace {

using mae::test::run_command;
using mae::test::shell_quote;

// One image per step for 3 epochs, on one thread per process (the machine's cores are shared by CTest's jobs).
std::string pretrain(const std::filesystem::path& data, const std::filesystem::path& out, const std::string& extra = "") {
  return "OMP_NUM_THREADS=1 " + mae::test::app("mae_pretrain") + " --model mae_vit_tiny_patch4 --input_size 32 --batch_size 1" +
         " --num_workers 1 --device cpu --epochs 3 --blr 0.05 --warmup_epochs 1 --seed 3 --dist_timeout 60" +
         " --data_path " + shell_quote(data.string()) + " --output_dir " + shell_quote(out.string()) + " --log_dir " +
         shell_quote(out.string()) + " " + extra;
}

// The shell lines that wait (at most a minute) until `log` shows the first step of epoch 0, then send SIGUSR1 to the
// process whose id is in shell variable `pid`.
std::string signal_once_training(const std::filesystem::path& log, const std::string& pid) {
  return "for i in $(seq 1200); do grep -q 'Epoch: \\[0\\]' " + shell_quote(log.string()) +
         " && break; sleep 0.05; done; kill -USR1 $" + pid + "; ";
}

// The stopped run's checkpoint: a position strictly inside an epoch of 16 steps, recorded with the run's shape.
void expect_position_checkpoint(const std::filesystem::path& out, int world_size) {
  const auto state = mae::engine::load_training_checkpoint((out / "checkpoint-last.pth").string());
  ASSERT_TRUE(state.position.has_value());
  EXPECT_EQ(state.epoch, state.position->epoch - 1);  // the last completed epoch, as the official code reads it
  EXPECT_GT(state.position->step, 0);
  EXPECT_LT(state.position->step, state.position->steps_per_epoch);
  EXPECT_EQ(state.position->steps_per_epoch, 16);
  EXPECT_EQ(state.position->world_size, world_size);
  EXPECT_EQ(state.position->seed, 3);
}

TEST(Preemption, AStoppedAndResumedRunEndsExactlyAsAnUninterruptedOne) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "data", 16, 5);
  const auto data = dir / "data";
  ASSERT_EQ(run_command(pretrain(data, dir / "full")).exit_code, 0);

  const auto log = dir / "stopped.log";
  // Appended piece by piece: GCC 12 warns (-Wstringop-overflow, a false positive) on this chain of operator+.
  std::string in_background = pretrain(data, dir / "out");
  in_background += " > " + shell_quote(log.string()) + " 2>&1 & pid=$!; ";
  const auto stopped = run_command("(" + in_background + signal_once_training(log, "pid") + "wait $pid)");
  const std::string output = mae::test::read_file(log);
  ASSERT_EQ(stopped.exit_code, 75) << output;
  EXPECT_NE(output.find("SIGUSR1: stopping after the current step"), std::string::npos) << output;
  EXPECT_NE(output.find("holds that position: --resume auto continues from there"), std::string::npos) << output;
  expect_position_checkpoint(dir / "out", 1);

  // Another shape would read other batches: refused, naming both.
  const auto reshaped = run_command(pretrain(data, dir / "out", "--resume auto --batch_size 2"));
  EXPECT_EQ(reshaped.exit_code, 2) << reshaped.output;
  EXPECT_NE(reshaped.output.find("16 batches per epoch; this run has seed 3, world size 1, 8 batches per epoch"),
            std::string::npos)
      << reshaped.output;

  const auto resumed = run_command(pretrain(data, dir / "out", "--resume auto"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("the position its checkpoint holds"), std::string::npos) << resumed.output;
  mae::test::expect_same_training_state(dir / "full/checkpoint-2.pth", dir / "out/checkpoint-2.pth");
}

// Both ranks of a SLURM-style launch on loopback, rank 0's output in <out>.rank0 and rank 1's in <out>.rank1; with
// `stop_rank_1`, SIGUSR1 goes to rank 1 only once rank 0 trains. The shell's exit status is rank 0's * 256 + rank 1's.
mae::test::CommandResult two_ranks(const std::filesystem::path& data, const std::filesystem::path& out,
                                   const std::string& extra, bool stop_rank_1) {
  const std::string common = "SLURM_NTASKS=2 SLURM_NTASKS_PER_NODE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" +
                             std::to_string(mae::test::free_port()) + " ";
  const auto log0 = out.string() + ".rank0";
  const auto log1 = out.string() + ".rank1";
  return run_command("(" + common + "SLURM_PROCID=0 SLURM_LOCALID=0 " + pretrain(data, out, extra) + " > " +
                     shell_quote(log0) + " 2>&1 & rank0=$!; " + common + "SLURM_PROCID=1 SLURM_LOCALID=1 " +
                     pretrain(data, out, extra) + " > " + shell_quote(log1) + " 2>&1 & rank1=$!; " +
                     (stop_rank_1 ? signal_once_training(log0, "rank1") : "") +
                     "wait $rank0; s0=$?; wait $rank1; s1=$?; echo \"exit codes $s0 $s1\"; exit $((s0 * 256 + s1)))");
}

TEST(Preemption, TwoRanksStopTogetherWhenOnlyOneIsSignalled) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "data", 32, 6);  // 16 per rank
  const auto data = dir / "data";
  const auto full = two_ranks(data, dir / "full", "", false);
  ASSERT_NE(full.output.find("exit codes 0 0"), std::string::npos)
      << full.output << mae::test::read_file(dir / "full.rank0") << mae::test::read_file(dir / "full.rank1");

  const auto stopped = two_ranks(data, dir / "out", "", true);
  const std::string rank0 = mae::test::read_file(dir / "out.rank0");
  ASSERT_NE(stopped.output.find("exit codes 75 75"), std::string::npos)
      << stopped.output << rank0 << mae::test::read_file(dir / "out.rank1");
  EXPECT_NE(rank0.find("another rank's stop signal"), std::string::npos) << rank0;  // rank 0 got no signal itself
  expect_position_checkpoint(dir / "out", 2);

  const auto resumed = two_ranks(data, dir / "out", "--resume auto", false);
  ASSERT_NE(resumed.output.find("exit codes 0 0"), std::string::npos)
      << resumed.output << mae::test::read_file(dir / "out.rank0") << mae::test::read_file(dir / "out.rank1");
  mae::test::expect_same_training_state(dir / "full/checkpoint-2.pth", dir / "out/checkpoint-2.pth");
}

}  // namespace
