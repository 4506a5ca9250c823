// mae_finetune and mae_linprobe end to end on a tiny separable set, from a mae_pretrain checkpoint.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "mae/engine/checkpoint.h"
#include "support/test_support.h"

namespace {

using mae::test::app;
using mae::test::log_lines;
using mae::test::run_command;
using mae::test::shell_quote;

// Two classes anyone can tell apart whatever the crop or flip: bright or dark noise.
std::filesystem::path make_two_classes(const std::filesystem::path& root) {
  cv::RNG rng(7);
  for (const auto& [split, count] : std::vector<std::pair<std::string, int>>{{"train", 24}, {"val", 8}}) {
    for (int i = 0; i < count; ++i) {
      const bool bright = i % 2 == 0;
      cv::Mat image(16, 16, CV_8UC3);
      rng.fill(image, cv::RNG::UNIFORM, bright ? 160 : 0, bright ? 255 : 95);
      const auto folder = root / split / (bright ? "bright" : "dark");
      std::filesystem::create_directories(folder);
      cv::imwrite((folder / (std::to_string(i) + ".png")).string(), image);
    }
  }
  return root;
}


// Without --input_size, fine-tuning and probing take the pre-training checkpoint's (16 px here).
std::string common(const std::filesystem::path& data, const std::filesystem::path& out, bool input_size = true) {
  return std::string(input_size ? " --input_size 16" : "") + " --batch_size 8 --num_workers 2 --device cpu --seed 1 --data_path " +
         shell_quote(data.string()) + " --output_dir " + shell_quote(out.string()) +
         " --log_dir " + shell_quote(out.string());
}

class ClassifierEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    data = make_two_classes(dir / "data");
    const auto result = run_command(app("mae_pretrain") + " --model mae_vit_tiny_patch4 --epochs 1 --blr 0.05" +
                                    common(data, dir / "pretrain"));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    pretrained = (dir / "pretrain/checkpoint-0.pth").string();
  }
  mae::test::TempDir dir;
  std::filesystem::path data;
  std::string pretrained;
};

TEST_F(ClassifierEndToEnd, FinetuneLearnsTheTaskAndEvalReproducesIt) {
  const auto out = dir / "finetune";
  const auto result = run_command(app("mae_finetune") + " --model vit_tiny_patch4 --nb_classes 2 --epochs 6 " +
                                  "--warmup_epochs 1 --blr 0.3 --aa '' --reprob 0 " +
                                  "--finetune " + shell_quote(pretrained) + common(data, out));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("criterion = LabelSmoothingCrossEntropy()"), std::string::npos);
  const auto lines = log_lines(out);
  ASSERT_EQ(lines.size(), 6u);
  for (const char* key : {"train_lr", "train_loss", "test_loss", "test_acc1", "test_acc5", "epoch", "n_parameters"}) {
    EXPECT_TRUE(lines.back().contains(key)) << key;
  }
  const double accuracy = lines.back()["test_acc1"].get<double>();
  EXPECT_GT(accuracy, 75.0) << result.output;  // chance is 50%
  // TensorBoard: loss and lr per step, perf/test_* per epoch (x = epoch), as main_finetune.py's log_writer.
  const auto scalars = mae::test::read_tensorboard(out).at("scalars");
  for (const char* tag : {"loss", "lr", "perf/test_acc1", "perf/test_acc5", "perf/test_loss"}) {
    EXPECT_TRUE(scalars.contains(tag)) << tag << " missing from " << scalars.dump();
  }
  ASSERT_EQ(scalars.at("perf/test_acc1").size(), 6u);
  EXPECT_EQ(scalars.at("perf/test_acc1").back().at(0), 5);
  EXPECT_NEAR(scalars.at("perf/test_acc1").back().at(1).get<double>(), accuracy, 1e-4);
  // --eval --resume gives the accuracy the last epoch logged.
  const auto eval = run_command(app("mae_finetune") + " --model vit_tiny_patch4 --nb_classes 2 --eval --resume " +
                                shell_quote((out / "checkpoint-5.pth").string()) + common(data, dir / "eval"));
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  char expected[64];
  std::snprintf(expected, sizeof expected, "* Acc@1 %.3f", accuracy);
  EXPECT_NE(eval.output.find(expected), std::string::npos) << eval.output;
  // mae_visualize given the fine-tuned file says what the file is, not which keys are missing.
  const auto visualize = run_command(app("mae_visualize") + " --checkpoint " +
                                     shell_quote((out / "checkpoint-5.pth").string()) + " --images " +
                                     shell_quote((data / "val").string()) + " --output_dir " +
                                     shell_quote((dir / "vis").string()));
  EXPECT_EQ(visualize.exit_code, 2) << visualize.output;
  EXPECT_NE(visualize.output.find("holds a classifier (a fine-tuned or linear-probed ViT"), std::string::npos)
      << visualize.output;
}

TEST_F(ClassifierEndToEnd, LinprobeChangesOnlyTheHead) {
  const auto out = dir / "linprobe";
  const auto result = run_command(app("mae_linprobe") + " --model vit_tiny_patch4 --cls_token --nb_classes 2 " +
                                  "--epochs 2 --warmup_epochs 1 --blr 0.1 --finetune " + shell_quote(pretrained) +
                                  common(data, out, /*input_size=*/false));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto before = mae::engine::load_training_checkpoint(pretrained);
  const auto after = mae::engine::load_training_checkpoint((out / "checkpoint-1.pth").string());
  std::map<std::string, at::Tensor> pretrained_weights(before.model.begin(), before.model.end());
  int compared = 0;
  for (const auto& [name, tensor] : after.model) {
    // Only the head trains; the probe runs at the checkpoint's 16 px, so even pos_embed is the pre-trained one.
    if (name.starts_with("head.")) {
      continue;
    }
    if (!pretrained_weights.contains(name)) {
      ADD_FAILURE() << name << " is not in the pre-training checkpoint";
      continue;
    }
    EXPECT_TRUE(torch::equal(tensor, pretrained_weights.at(name))) << name << " changed";
    ++compared;
  }
  EXPECT_GT(compared, 100);
  std::vector<std::string> head;
  for (const auto& [name, tensor] : after.model) {
    if (name.starts_with("head.")) {
      head.push_back(name);
    }
  }
  EXPECT_EQ(head, (std::vector<std::string>{"head.0.running_mean", "head.0.running_var", "head.0.num_batches_tracked",
                                            "head.1.weight", "head.1.bias"}));
  EXPECT_EQ(after.optimizer.toGenericDict().at("param_groups").toListRef()[0].toGenericDict().at("momentum").toDouble(),
            0.9);
}

TEST_F(ClassifierEndToEnd, AMismatchedFinetuneCheckpointIsNamed) {
  const auto result = run_command(app("mae_finetune") + " --model vit_small_patch16 --input_size 16 --nb_classes 2 " +
                                  "--epochs 1 --finetune " + shell_quote(pretrained) + common(data, dir / "bad"));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  // The checkpoint records its architecture, so the clash is reported as the two shapes, before any weight is read.
  EXPECT_NE(result.output.find("holds a model of patch_size 4, in_chans 3, embed_dim 192, depth 12, num_heads 3"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("ask for patch_size 16, in_chans 3, embed_dim 384, depth 12, num_heads 6"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("differ in patch_size, embed_dim, num_heads"), std::string::npos) << result.output;
}

}  // namespace
