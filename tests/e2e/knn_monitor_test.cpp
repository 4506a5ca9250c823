// mae_pretrain --knn_eval_freq: the kNN accuracy reaches log.txt and TensorBoard, the run trains exactly the weights of
// a run without it, and tar shards packed from the kNN folders give the folders' accuracy, in one process and two.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "mae/data/shards/shard_packer.h"
#include "mae/engine/checkpoint.h"
#include "support/loopback_job.h"
#include "support/test_support.h"

namespace {

using mae::test::run_command;
using mae::test::shell_quote;

std::string pretrain(const mae::test::TempDir& dir, const std::string& out, const std::string& extra) {
  return "OMP_NUM_THREADS=1 " + mae::test::app("mae_pretrain") +
         " --model mae_vit_tiny_patch4 --input_size 32 --batch_size 2 --num_workers 1 --device cpu --epochs 2" +
         " --blr 0.05 --warmup_epochs 1 --seed 4 --data_path " + shell_quote((dir / "data").string()) +
         " --output_dir " + shell_quote((dir / out).string()) + " --log_dir " + shell_quote((dir / out).string()) +
         " " + extra;
}

TEST(KnnMonitor, ReportsAccuracyAndLeavesTrainingUnchanged) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "data", 8, 41);
  for (const std::string split : {"train", "val"}) {
    mae::test::write_random_images(dir / "knn" / split / "a", 3, split == "train" ? 42 : 43);
    mae::test::write_random_images(dir / "knn" / split / "b", 3, split == "train" ? 44 : 45);
  }
  const auto plain = run_command(pretrain(dir, "plain", ""));
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  const auto monitored = run_command(pretrain(
      dir, "monitored", "--knn_eval_freq 1 --knn_k 4 --knn_max_train 5 --knn_data_path " + shell_quote((dir / "knn").string())));
  ASSERT_EQ(monitored.exit_code, 0) << monitored.output;
  EXPECT_NE(monitored.output.find("kNN monitor: every 1 epochs, 5 training images (of 6)"), std::string::npos)
      << monitored.output;

  const auto a = mae::engine::load_training_checkpoint((dir / "plain/checkpoint-1.pth").string());
  const auto b = mae::engine::load_training_checkpoint((dir / "monitored/checkpoint-1.pth").string());
  ASSERT_EQ(a.model.size(), b.model.size());
  for (std::size_t i = 0; i < a.model.size(); ++i) {
    EXPECT_TRUE(torch::equal(a.model[i].second, b.model[i].second)) << a.model[i].first;
  }

  const auto lines = mae::test::log_lines(dir / "monitored");
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& line : lines) {
    ASSERT_TRUE(line.contains("knn_acc1")) << line.dump();
    EXPECT_GE(line["knn_acc1"].get<double>(), 0.0);
    EXPECT_LE(line["knn_acc1"].get<double>(), line["knn_acc5"].get<double>());
    EXPECT_EQ(line["knn_acc5"].get<double>(), 100.0);  // two classes: both are within the top five
  }
  EXPECT_FALSE(mae::test::log_lines(dir / "plain")[0].contains("knn_acc1"));
  const auto events = mae::test::read_tensorboard(dir / "monitored");
  ASSERT_TRUE(events["scalars"].contains("knn_acc1")) << events.dump();
  EXPECT_EQ(events["scalars"]["knn_acc1"].size(), 2u);
  // TensorBoard's simple_value is a float32.
  EXPECT_NEAR(events["scalars"]["knn_acc1"][1][1].get<double>(), lines[1]["knn_acc1"].get<double>(), 1e-4);
}

// The kNN accuracies of every epoch in <out>/log.txt.
std::vector<std::pair<double, double>> knn_accuracies(const std::filesystem::path& out) {
  std::vector<std::pair<double, double>> accuracies;
  for (const auto& line : mae::test::log_lines(out)) {
    accuracies.emplace_back(line.at("knn_acc1").get<double>(), line.at("knn_acc5").get<double>());
  }
  return accuracies;
}

TEST(KnnMonitor, ShardsGiveTheAccuracyOfTheFoldersTheyWerePackedFrom) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "data", 8, 51);
  for (const std::string split : {"train", "val"}) {  // three classes of 3 to 5 images; a shard holds 2
    for (int c = 0; c < 3; ++c) {
      mae::test::write_random_images(dir / "knn" / split / std::string(1, static_cast<char>('a' + c)), 3 + c,
                                     60 + c + (split == "train" ? 0 : 10));
    }
  }
  mae::data::PackOptions pack;
  pack.input = (dir / "knn").string();
  pack.output = (dir / "knn_shards").string();
  pack.samples_per_shard = 2;
  mae::data::pack_shards(pack);
  // --knn_max_train covers every training image (shards are read whole), so that the folder's evenly spaced subset is
  // the whole set too.
  const auto monitor = [&](const std::string& knn) {
    return "--epochs 2 --knn_eval_freq 1 --knn_k 3 --knn_max_train 12 --knn_data_path " +
           shell_quote((dir / knn).string());
  };
  for (const std::string knn : {"knn", "knn_shards"}) {
    const auto one = run_command(pretrain(dir, "one_" + knn, monitor(knn)));
    ASSERT_EQ(one.exit_code, 0) << one.output;
    const auto two = mae::test::run_two_slurm_ranks(pretrain(dir, "two_" + knn, "--dist_timeout 60 " + monitor(knn)));
    ASSERT_EQ(two.exit_code, 0) << two.output;
    EXPECT_NE(two.output.find("world size 2"), std::string::npos) << two.output;
  }
  const auto too_many = run_command(pretrain(dir, "refused", "--knn_eval_freq 1 --knn_max_train 11 --knn_data_path " +
                                                                shell_quote((dir / "knn_shards").string())));
  EXPECT_EQ(too_many.exit_code, 2) << too_many.output;
  EXPECT_NE(too_many.output.find("hold 12 samples, more than --knn_max_train 11"), std::string::npos)
      << too_many.output;
  for (const std::string split : {"train", "val"}) {  // shards of unlabelled images: nothing to classify
    mae::test::write_random_images(dir / "plain" / split, 2, 70);
  }
  pack.input = (dir / "plain").string();
  pack.output = (dir / "plain_shards").string();
  mae::data::pack_shards(pack);
  const auto unlabelled = run_command(pretrain(dir, "refused", "--knn_eval_freq 1 --knn_data_path " +
                                                                  shell_quote((dir / "plain_shards").string())));
  EXPECT_EQ(unlabelled.exit_code, 2) << unlabelled.output;
  EXPECT_NE(unlabelled.output.find("index.json names no classes"), std::string::npos) << unlabelled.output;
  const auto folder = knn_accuracies(dir / "one_knn");
  ASSERT_EQ(folder.size(), 2u);
  EXPECT_EQ(knn_accuracies(dir / "one_knn_shards"), folder);
  // Two ranks train another model (a global batch of 4), so their accuracies are compared with each other's: the
  // folder's rows are gathered by position, the shards' rank after rank.
  const auto two_ranks = knn_accuracies(dir / "two_knn");
  ASSERT_EQ(two_ranks.size(), 2u);
  EXPECT_EQ(knn_accuracies(dir / "two_knn_shards"), two_ranks);
}

TEST(KnnMonitor, NeedsLabelledTrainAndValFolders) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "data", 4, 46);
  const auto missing = run_command(pretrain(dir, "out", "--knn_eval_freq 1"));
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("--knn_eval_freq 1 needs --knn_data_path"), std::string::npos) << missing.output;
  const auto no_val = run_command(pretrain(dir, "out", "--knn_eval_freq 1 --knn_data_path " +
                                                           shell_quote((dir / "data").string())));
  EXPECT_EQ(no_val.exit_code, 2) << no_val.output;
  EXPECT_NE(no_val.output.find("/train' does not exist"), std::string::npos) << no_val.output;
}

}  // namespace
