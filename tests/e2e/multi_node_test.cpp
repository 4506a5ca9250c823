// Two nodes on one host, as CI can run them: 4 Gloo ranks pre-train a tiny MAE for 2 epochs, started as two torchrun
// agents of 2 workers each (meeting at a c10d rendezvous on 127.0.0.1, and in the static form with --master-addr and
// --master-port), and as srun starts 2 nodes x 2 tasks (the SLURM variables of each task). Each run must end with the
// checkpoint of `torchrun --standalone --nproc-per-node 4` with the same seed, tensor for tensor, and every rank must
// log its rank, node and local rank. And --grad_compression on 2 ranks: the loss curve of bf16 and fp16 buckets.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "mae/util/strings.h"
#include "support/loopback_job.h"
#include "support/test_support.h"
#include "support/training_state_compare.h"

namespace {

using mae::test::run_command;
using mae::test::shell_quote;
using mae::text;

constexpr int kWorld = 4;
constexpr int kPerNode = 2;

std::string pretrain_args(const std::filesystem::path& data, const std::filesystem::path& out, int epochs = 2,
                          const std::string& extra = "") {
  return " --model mae_vit_tiny_patch4 --input_size 16 --batch_size 2 --epochs " + std::to_string(epochs) +
         " --warmup_epochs 1 --blr 0.05 --device cpu --num_workers 1 --seed 5 --dist_timeout 60 --data_path " + shell_quote(data.string()) +
         " --output_dir " + shell_quote(out.string()) + " --log_dir " + shell_quote(out.string()) + " " + extra;
}

std::string torchrun() {
  return "OMP_NUM_THREADS=1 " + shell_quote(mae::test::python()) + " -m torch.distributed.run ";
}

// Runs `commands` at once, each writing to <dir>/<name>.<i>; the result's output is all of them, its exit code 0
// when every command succeeded.
mae::test::CommandResult run_together(const std::vector<std::string>& commands, const mae::test::TempDir& dir,
                                      const std::string& name) {
  std::string script = "(";
  for (std::size_t i = 0; i < commands.size(); ++i) {
    script += commands[i] + " > " + shell_quote((dir / text(name, ".", i)).string()) + " 2>&1 & p" +
              std::to_string(i) + "=$!; ";
  }
  script += "status=0; ";
  for (std::size_t i = 0; i < commands.size(); ++i) {
    script += "wait $p" + std::to_string(i) + " || status=1; ";
  }
  mae::test::CommandResult result = run_command(script + "exit $status)");
  for (std::size_t i = 0; i < commands.size(); ++i) {
    result.output += mae::test::read_file(dir / text(name, ".", i));
  }
  return result;
}

// Rank R of 4 ran on node R / 2 as local rank R % 2, and said so.
void expect_every_rank_placed(const std::string& output, const std::string& launcher) {
  for (int rank = 0; rank < kWorld; ++rank) {
    const std::string line = text("distributed init (rank ", rank, "): ", launcher, ", world size 4; rank ", rank,
                                  " of 4, node ", rank / kPerNode, " of 2, local rank ", rank % kPerNode, " of 2");
    EXPECT_NE(output.find(line), std::string::npos) << line << "\n" << output;
  }
}

TEST(MultiNode, TwoNodesOfTwoRanksEqualOneNodeOfFour) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "data", 32, 7);  // 4 steps an epoch of 4 ranks x 2 images
  const auto data = dir / "data";
  const std::string binary = mae::test::app("mae_pretrain");

  const auto one_node = run_command(torchrun() + "--standalone --nproc-per-node 4 --no-python " + binary +
                                    pretrain_args(data, dir / "one_node"));
  ASSERT_EQ(one_node.exit_code, 0) << one_node.output;
  const auto reference = dir / "one_node" / "checkpoint-1.pth";

  // Two torchrun agents of 2 workers each, every node's own flags from `rendezvous_of(node)`, all writing to <out>;
  // the run must place every rank and end with the one-node run's state.
  const auto expect_two_nodes_equal_one = [&](const std::string& name,
                                              const std::function<std::string(int node)>& rendezvous_of) {
    std::vector<std::string> nodes;
    for (int node = 0; node < 2; ++node) {
      nodes.push_back(torchrun() + text("--nnodes 2 --node-rank ", node, " --nproc-per-node 2 ", rendezvous_of(node),
                                        " --no-python ") +
                      binary + pretrain_args(data, dir / name));
    }
    const auto run = run_together(nodes, dir, name);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    expect_every_rank_placed(run.output, "torchrun");
    mae::test::expect_same_training_state(reference, dir / name / "checkpoint-1.pth");
  };
  // c10d: node 0's agent hosts the rendezvous store (is_host, as on the first host of a cluster); the nodes are
  // numbered in the order they join.
  const int c10d_port = mae::test::free_port();
  expect_two_nodes_equal_one("c10d", [&](int node) {
    return text("--rdzv-backend c10d --rdzv-endpoint 127.0.0.1:", c10d_port, " --rdzv-id mae-two-nodes ",
                "--rdzv-conf is_host=", node == 0 ? 1 : 0);
  });
  const int static_port = mae::test::free_port();
  expect_two_nodes_equal_one("static", [&](int) {
    return text("--master-addr 127.0.0.1 --master-port ", static_port);
  });

  // srun's variables for 2 nodes x 2 tasks; the master is the first host of the node list. GLOO_SOCKET_IFNAME as on
  // a cluster whose hosts have several interfaces.
  const int slurm_port = mae::test::free_port();
  std::vector<std::string> tasks;
  for (int rank = 0; rank < kWorld; ++rank) {
    tasks.push_back(text("OMP_NUM_THREADS=1 GLOO_SOCKET_IFNAME=lo SLURM_JOB_NODELIST='127.0.0.[1-2]' SLURM_NNODES=2 ",
                         "SLURM_NTASKS=4 SLURM_TASKS_PER_NODE='2(x2)' MASTER_PORT=", slurm_port, " SLURM_PROCID=", rank,
                         " SLURM_LOCALID=", rank % kPerNode, " SLURM_NODEID=", rank / kPerNode, " ") +
                    binary + pretrain_args(data, dir / "slurm"));
  }
  const auto slurm = run_together(tasks, dir, "slurm");
  ASSERT_EQ(slurm.exit_code, 0) << slurm.output;
  expect_every_rank_placed(slurm.output, "SLURM");
  EXPECT_NE(slurm.output.find("rendezvous 127.0.0.1:"), std::string::npos) << slurm.output;
  mae::test::expect_same_training_state(reference, dir / "slurm" / "checkpoint-1.pth");
}

// The per-epoch train_loss of a 2-rank run (srun's variables on one node) with these flags.
std::vector<double> two_rank_losses(const mae::test::TempDir& dir, const std::string& name, const std::string& flags) {
  const int port = mae::test::free_port();
  std::vector<std::string> tasks;
  for (int rank = 0; rank < 2; ++rank) {
    tasks.push_back(text("OMP_NUM_THREADS=1 SLURM_NTASKS=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=", port,
                         " SLURM_PROCID=", rank, " SLURM_LOCALID=", rank, " ") +
                    mae::test::app("mae_pretrain") +
                    pretrain_args(dir / "data", dir / name, 4, flags));
  }
  const auto result = run_together(tasks, dir, name);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  std::vector<double> losses;
  for (const auto& line : mae::test::log_lines(dir / name)) {
    losses.push_back(line.at("train_loss").get<double>());
  }
  return losses;
}

TEST(GradCompression, SixteenBitBucketsFollowTheFp32LossCurve) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "data", 32, 8);
  const auto fp32 = two_rank_losses(dir, "fp32", "");
  for (const std::string dtype : {"bf16", "fp16"}) {
    const auto compressed = two_rank_losses(dir, dtype, "--grad_compression " + dtype);
    ASSERT_EQ(compressed.size(), fp32.size());
    ASSERT_EQ(fp32.size(), 4u);
    const std::string output = mae::test::read_file(dir / text(dtype, ".0"));
    EXPECT_NE(output.find(text("; sent as ", dtype == "bf16" ? "BFloat16" : "Half")), std::string::npos) << output;
    double largest = 0;
    for (std::size_t epoch = 0; epoch < fp32.size(); ++epoch) {
      largest = std::max(largest, std::abs(compressed[epoch] / fp32[epoch] - 1));
    }
    std::cout << "[grad_compression] " << dtype << ": largest relative difference of an epoch's loss "
              << largest << '\n';
    EXPECT_LT(largest, 1e-3) << dtype;  // docs/distributed.md states this bound
    EXPECT_GT(largest, 0.0) << dtype << ": the compressed run trained exactly as fp32, so nothing was compressed";
  }
}

}  // namespace
