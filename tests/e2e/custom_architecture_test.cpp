// A custom architecture on grayscale data through every executable: flags once at pre-training, then the
// checkpoint alone tells mae_finetune, mae_linprobe and mae_visualize what to build.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "mae/engine/checkpoint.h"
#include "support/test_support.h"

namespace {

using mae::test::app;
using mae::test::run_command;
using mae::test::shell_quote;

// Two classes of 1-channel 28 x 28 images: a bright square on the left or on the right.
std::filesystem::path make_gray_classes(const std::filesystem::path& root) {
  cv::RNG rng(3);
  for (const auto& [split, count] : std::vector<std::pair<std::string, int>>{{"train", 16}, {"val", 4}}) {
    for (int i = 0; i < count; ++i) {
      const bool left = i % 2 == 0;
      cv::Mat image(28, 28, CV_8UC1);
      rng.fill(image, cv::RNG::UNIFORM, 0, 60);
      image(cv::Rect(left ? 2 : 16, 8, 10, 10)).setTo(220);
      const auto folder = root / split / (left ? "left" : "right");
      std::filesystem::create_directories(folder);
      cv::imwrite((folder / (std::to_string(i) + ".png")).string(), image);
    }
  }
  return root;
}


std::string common(const std::filesystem::path& data, const std::filesystem::path& out) {
  return " --batch_size 4 --num_workers 1 --device cpu --seed 1 --epochs 1 --warmup_epochs 0 --data_path " +
         shell_quote(data.string()) + " --output_dir " + shell_quote(out.string()) +
         " --log_dir " + shell_quote(out.string());
}

TEST(CustomArchitectureEndToEnd, FlagsAtPretrainingThenTheCheckpointDecides) {
  mae::test::TempDir dir;
  const auto data = make_gray_classes(dir / "data");
  const std::string shape = " --model mae_vit_tiny_patch4 --input_size 28 --patch_size 7 --in_chans 1 --embed_dim 32"
                            " --depth 2 --num_heads 2 --decoder_embed_dim 16 --decoder_depth 1 --decoder_num_heads 2";
  const auto pretrained = run_command(app("mae_pretrain") + shape + " --mask_strategy grid --norm_pix_loss" +
                                      common(data, dir / "pretrain"));
  ASSERT_EQ(pretrained.exit_code, 0) << pretrained.output;
  EXPECT_NE(pretrained.output.find("patch_size 7, in_chans 1, embed_dim 32, depth 2, num_heads 2, mlp_ratio 4; "
                                   "decoder_embed_dim 16, decoder_depth 1, decoder_num_heads 2; mask_strategy grid"),
            std::string::npos)
      << pretrained.output;
  const auto checkpoint = (dir / "pretrain/checkpoint-0.pth").string();
  const auto state = mae::engine::load_training_checkpoint(checkpoint);
  const auto args = state.args.toGenericDict();
  EXPECT_EQ(args.at("patch_size").toInt(), 7);
  EXPECT_EQ(args.at("in_chans").toInt(), 1);
  EXPECT_EQ(args.at("decoder_depth").toInt(), 1);

  // Fine-tuning and probing with no shape flag at all build the same encoder at the same 28 px.
  const auto finetuned = run_command(app("mae_finetune") + " --nb_classes 2 --finetune_blocks 1 --finetune " +
                                     shell_quote(checkpoint) + common(data, dir / "finetune"));
  ASSERT_EQ(finetuned.exit_code, 0) << finetuned.output;
  EXPECT_NE(finetuned.output.find("Model: vit_tiny_patch4 at 28 px: patch_size 7, in_chans 1, embed_dim 32, depth 2"),
            std::string::npos)
      << finetuned.output;
  const auto probed = run_command(app("mae_linprobe") + " --nb_classes 2 --finetune " + shell_quote(checkpoint) +
                                  common(data, dir / "linprobe"));
  ASSERT_EQ(probed.exit_code, 0) << probed.output;
  EXPECT_NE(probed.output.find("at 28 px: patch_size 7, in_chans 1"), std::string::npos) << probed.output;

  // The visualizer needs only the checkpoint; it draws the 1-channel model's panels in gray.
  const auto visualized = run_command(app("mae_visualize") + " --checkpoint " + shell_quote(checkpoint) +
                                      " --images " + shell_quote((data / "val/left/0.png").string()) +
                                      " --output_dir " + shell_quote((dir / "vis").string()));
  ASSERT_EQ(visualized.exit_code, 0) << visualized.output;
  const cv::Mat figure = cv::imread((dir / "vis/0_reconstruction.png").string());
  ASSERT_FALSE(figure.empty());
  std::vector<cv::Mat> channels;
  cv::split(figure, channels);
  EXPECT_EQ(cv::countNonZero(channels[0] != channels[1]), 0);

  // Resuming with another decoder is refused before any weight is touched, naming the difference.
  const auto resumed = run_command(app("mae_pretrain") + shape + " --decoder_depth 2 --resume " +
                                   shell_quote(checkpoint) + common(data, dir / "resume"));
  EXPECT_EQ(resumed.exit_code, 2) << resumed.output;
  EXPECT_NE(resumed.output.find("decoder_depth 1 in the checkpoint, 2 in this run"), std::string::npos)
      << resumed.output;
}

}  // namespace
