// A crash with no signal under an elastic launcher: mae_pretrain on 2 ranks under `torchrun --max-restarts 1` with
// --resume auto and --save_interval_minutes, one worker killed with SIGKILL in the middle of an epoch. torchrun
// restarts the group, every rank resumes from the newest position checkpoint, and the run ends with exactly the
// training state of an uninterrupted one. Also the saves themselves: resumed from the last one an interval wrote, a
// run ends as the uninterrupted one did.
#include <gtest/gtest.h>

#include <filesystem>

#include "mae/engine/checkpoint.h"
#include "support/test_support.h"
#include "support/training_state_compare.h"

namespace {

using mae::test::run_command;
using mae::test::shell_quote;

// 2 ranks x 1 image a step: 32 steps an epoch, 3 epochs; a position checkpoint at every update boundary (the
// interval, 6 ms, is shorter than a step); no numbered checkpoint but the last and no checkpoint-last.pth after an
// epoch, so that checkpoint-last.pth is always the newest interval save.
std::string elastic_pretrain(const std::filesystem::path& data, const std::filesystem::path& out,
                             const std::string& torchrun_flags) {
  return "OMP_NUM_THREADS=1 " + shell_quote(mae::test::python()) + " -m torch.distributed.run --standalone " +
         "--nproc-per-node 2 " + torchrun_flags + " --no-python " + mae::test::app("mae_pretrain") +
         " --model mae_vit_tiny_patch4 --input_size 32 --batch_size 1 --epochs 3 --warmup_epochs 1 --blr 0.05" +
         " --device cpu --num_workers 1 --seed 11 --dist_timeout 60 --save_interval_minutes 0.0001 --save_every 0" +
         " --no_save_last --resume auto --data_path " + shell_quote(data.string()) + " --output_dir " +
         shell_quote(out.string()) + " --log_dir " + shell_quote(out.string());
}

TEST(ElasticRestart, AKilledWorkerCostsOnlyTheStepsSinceTheLastSave) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "data", 64, 9);
  const auto data = dir / "data";

  const auto full = run_command(elastic_pretrain(data, dir / "full", ""));
  ASSERT_EQ(full.exit_code, 0) << full.output;
  EXPECT_NE(full.output.find("--save_interval_minutes 0.0001: saving epoch 1 after step"), std::string::npos)
      << full.output;
  const auto last_save = mae::engine::load_training_checkpoint((dir / "full" / "checkpoint-last.pth").string());
  ASSERT_TRUE(last_save.position.has_value());
  EXPECT_EQ(last_save.position->epoch, 2);
  EXPECT_GT(last_save.position->step, 0);
  EXPECT_LT(last_save.position->step, 32);

  // Resumed from the uninterrupted run's last interval save, a run ends where that one did.
  std::filesystem::create_directories(dir / "resumed");
  std::filesystem::copy_file(dir / "full" / "checkpoint-last.pth", dir / "resumed" / "checkpoint-last.pth");
  const auto resumed = run_command(elastic_pretrain(data, dir / "resumed", ""));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("Continuing epoch 2 at step " + std::to_string(last_save.position->step)),
            std::string::npos)
      << resumed.output;
  mae::test::expect_same_training_state(dir / "full" / "checkpoint-2.pth", dir / "resumed" / "checkpoint-2.pth");

  // SIGKILL to one worker once rank 0 has logged step 20 of epoch 1; torchrun restarts both.
  const auto log = dir / "elastic.log";
  const std::string binary_pattern = "^" + (mae::test::binary_dir() / "mae_pretrain").string() + " .*" +
                                     (dir / "elastic").string();
  std::string script = "(" + elastic_pretrain(data, dir / "elastic", "--max-restarts 1 --monitor-interval 0.5");
  script += " > " + shell_quote(log.string()) + " 2>&1 & agent=$!; ";
  script += "for i in $(seq 3600); do grep -q 'Epoch: \\[1\\]  \\[20/32\\]' " + shell_quote(log.string()) +
            " && break; sleep 0.05; done; ";
  script += "grep -q 'Epoch: \\[1\\]  \\[20/32\\]' " + shell_quote(log.string()) +
            " || { echo 'step 20 of epoch 1 never logged'; kill $agent; wait $agent; exit 3; }; ";
  script += "pkill -KILL -n -f " + shell_quote(binary_pattern) + " && echo 'killed a worker'; wait $agent)";
  const auto elastic = run_command(script);
  const std::string output = mae::test::read_file(log);
  ASSERT_EQ(elastic.exit_code, 0) << elastic.output << output;
  EXPECT_NE(elastic.output.find("killed a worker"), std::string::npos) << elastic.output;
  EXPECT_NE(output.find("restart 0 of at most 1"), std::string::npos) << output;
  EXPECT_NE(output.find("restart 1 of at most 1"), std::string::npos) << output;  // the count, in the log
  const std::string continuing = "Continuing epoch 1 at step ";
  const auto at = output.find(continuing);
  ASSERT_NE(at, std::string::npos) << output;
  std::cout << "[elastic] after the restart: " << output.substr(at, output.find('\n', at) - at) << '\n';
  // Killed once step 20 (the 21st) was logged, with a save submitted after every step: the newest whole one is at
  // least the position after step 18 (the save after step 19 or 20 may still have been in flight). A few steps lost,
  // never the epoch.
  EXPECT_GE(std::stoi(output.substr(at + continuing.size())), 19) << output;
  mae::test::expect_same_training_state(dir / "full" / "checkpoint-2.pth", dir / "elastic" / "checkpoint-2.pth");
}

}  // namespace
