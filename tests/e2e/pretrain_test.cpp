// mae_pretrain end to end on tiny data: the loss falls, the outputs are the reference's, resume is exact.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "mae/engine/checkpoint.h"
#include "support/test_support.h"

namespace {

using mae::test::log_lines;
using mae::test::run_command;
using mae::test::shell_quote;

// 32 images of 20x20: smooth colour gradients with a random offset, under class folders as ImageFolder wants.
std::filesystem::path make_images(const mae::test::TempDir& dir) {
  const auto root = dir / "data";
  cv::RNG rng(1);
  for (int i = 0; i < 32; ++i) {
    cv::Mat image(20, 20, CV_8UC3);
    const int offset = rng.uniform(0, 100);
    for (int y = 0; y < 20; ++y) {
      for (int x = 0; x < 20; ++x) {
        image.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(offset + 5 * x), static_cast<uchar>(offset + 5 * y),
                                              static_cast<uchar>(128 + ((x / 5 + y / 5) % 2) * 60));
      }
    }
    const auto folder = root / "train" / (i % 2 ? "a" : "b");
    std::filesystem::create_directories(folder);
    cv::imwrite((folder / (std::to_string(i) + ".png")).string(), image);
  }
  return root;
}

std::string pretrain(const std::filesystem::path& data, const std::filesystem::path& out, const std::string& extra) {
  return mae::test::app("mae_pretrain") + " --model mae_vit_tiny_patch4 --input_size 16" +
         " --batch_size 8 --num_workers 2 --device cpu --blr 0.05 --warmup_epochs 1 --seed 3 --save_every 1" +
         " --data_path " + shell_quote(data.string()) + " --output_dir " + shell_quote(out.string()) +
         " --log_dir " + shell_quote(out.string()) + " " + extra;
}

TEST(PretrainEndToEnd, LossFallsAndOutputsAreTheReferences) {
  mae::test::TempDir dir;
  const auto data = make_images(dir);
  const auto result = run_command(pretrain(data, dir / "out", "--epochs 6"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("effective batch size: 8"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("Epoch: [5]  [3/4]  eta:"), std::string::npos) << result.output;
  const auto lines = log_lines(dir / "out");
  ASSERT_EQ(lines.size(), 6u);
  for (const auto& line : lines) {
    EXPECT_EQ(line.size(), 3u);
    EXPECT_TRUE(line.contains("train_lr") && line.contains("train_loss") && line.contains("epoch"));
  }
  EXPECT_LT(lines.back()["train_loss"].get<double>(), 0.8 * lines.front()["train_loss"].get<double>());
  // TensorBoard, as the reference's log_writer: train_loss and lr per step at x = int((step / 4 + epoch) * 1000).
  const auto board = mae::test::read_tensorboard(dir / "out");
  EXPECT_EQ(board.value("files", 0), 1);
  const auto& scalars = board.at("scalars");
  ASSERT_EQ(scalars.at("train_loss").size(), 24u) << board.dump();
  ASSERT_EQ(scalars.at("lr").size(), 24u) << board.dump();
  EXPECT_EQ(scalars.at("lr").at(1).at(0), 250);
  EXPECT_EQ(scalars.at("train_loss").back().at(0), 5750);
  double first_epoch_loss = 0.0;
  for (int step = 0; step < 4; ++step) {
    first_epoch_loss += scalars.at("train_loss").at(step).at(1).get<double>() / 4;
  }
  EXPECT_NEAR(first_epoch_loss, lines.front()["train_loss"].get<double>(), 1e-5);  // log.txt's epoch average
  for (int epoch = 0; epoch < 6; ++epoch) {
    EXPECT_TRUE(std::filesystem::exists(dir / "out" / mae::engine::checkpoint_file_name(epoch)));
  }
  const std::string check = R"PY(
import json, sys, torch
ckpt = torch.load(sys.argv[1], weights_only=True)
# config.json is written once the shape settings are resolved, so it records exactly what the checkpoint's args do.
resolved = json.load(open(sys.argv[2]))
assert resolved == dict(ckpt['args']), {k: (resolved.get(k), v) for k, v in ckpt['args'].items() if resolved.get(k) != v}
assert resolved['patch_size'] == 4 and resolved['decoder_depth'] is not None, resolved
assert set(ckpt) == {'model', 'optimizer', 'epoch', 'scaler', 'args'}, sorted(ckpt)
assert ckpt['epoch'] == 5 and ckpt['args']['model'] == 'mae_vit_tiny_patch4'
assert ckpt['model']['decoder_pred.weight'].shape == (48, 128)
assert len(ckpt['optimizer']['param_groups']) == 2 and ckpt['optimizer']['param_groups'][1]['betas'] == (0.9, 0.95)
print('ok')
)PY";
  const auto python = run_command(mae::test::python() + " -c " + shell_quote(check) + " " +
                                  shell_quote((dir / "out/checkpoint-last.pth").string()) + " " +
                                  shell_quote((dir / "out/config.json").string()));
  EXPECT_EQ(python.exit_code, 0) << python.output;
}

TEST(PretrainEndToEnd, ResumedRunEndsExactlyAsAnUninterruptedOne) {
  mae::test::TempDir dir;
  const auto data = make_images(dir);
  ASSERT_EQ(run_command(pretrain(data, dir / "full", "--epochs 3")).exit_code, 0);
  // The same run resumed from the end of epoch 0.
  std::filesystem::create_directories(dir / "resumed");
  const auto resumed = run_command(pretrain(data, dir / "resumed", "--epochs 3 --resume " +
                                                                      shell_quote((dir / "full/checkpoint-0.pth").string())));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("With optim & sched!"), std::string::npos);
  EXPECT_EQ(resumed.output.find("Epoch: [0]"), std::string::npos);  // epoch 0 is not trained again
  const auto full = mae::engine::load_training_checkpoint((dir / "full/checkpoint-2.pth").string());
  const auto again = mae::engine::load_training_checkpoint((dir / "resumed/checkpoint-2.pth").string());
  ASSERT_EQ(full.model.size(), again.model.size());
  for (std::size_t i = 0; i < full.model.size(); ++i) {
    EXPECT_TRUE(torch::equal(full.model[i].second, again.model[i].second)) << full.model[i].first;
  }
  // --resume auto picks checkpoint-last.pth: nothing is left to train.
  const auto automatic = run_command(pretrain(data, dir / "full", "--epochs 3 --resume auto"));
  EXPECT_EQ(automatic.exit_code, 0) << automatic.output;
  EXPECT_NE(automatic.output.find("checkpoint-last.pth"), std::string::npos) << automatic.output;
}

TEST(PretrainEndToEnd, BadInputGivesClearErrors) {
  mae::test::TempDir dir;
  const auto missing = run_command(pretrain(dir / "nowhere", dir / "out", "--epochs 1"));
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("does not exist (check --data_path)"), std::string::npos) << missing.output;
  const auto data = make_images(dir);
  const auto model = run_command(pretrain(data, dir / "out", "--epochs 1 --model mae_vit_bse_patch16"));
  EXPECT_EQ(model.exit_code, 2) << model.output;
  EXPECT_NE(model.output.find("did you mean 'mae_vit_base_patch16'"), std::string::npos) << model.output;
  const auto cuda = run_command(pretrain(data, dir / "out", "--epochs 1 --device cuda"));
  if (!torch::cuda::is_available()) {
    EXPECT_EQ(cuda.exit_code, 2) << cuda.output;
    EXPECT_NE(cuda.output.find("CUDA is not available"), std::string::npos) << cuda.output;
  }
}

}  // namespace

namespace {

TEST(VisualizeEndToEnd, DrawsTheFourPanelsFromAPretrainCheckpoint) {
  mae::test::TempDir dir;
  const auto data = make_images(dir);
  ASSERT_EQ(run_command(pretrain(data, dir / "out", "--epochs 1 --norm_pix_loss")).exit_code, 0);
  const auto image = (data / "train/a/1.png").string();
  const auto result = run_command(mae::test::app("mae_visualize") +
                                  " --checkpoint " + shell_quote((dir / "out/checkpoint-last.pth").string()) +
                                  " --images " + shell_quote(image) + " --output_dir " +
                                  shell_quote((dir / "vis").string()));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto png = dir / "vis/1_reconstruction.png";
  EXPECT_NE(result.output.find(png.string()), std::string::npos) << result.output;
  const cv::Mat figure = cv::imread(png.string());
  ASSERT_FALSE(figure.empty());
  // 16-px input scaled 14x to 224-px panels, four of them with 8-px gaps, under a 24-px title strip.
  EXPECT_EQ(figure.cols, 4 * 224 + 5 * 8);
  EXPECT_EQ(figure.rows, 224 + 24 + 8);
  // Where the masked panel shows the image, the pasted panel shows the same pixels.
  const cv::Mat original = figure(cv::Rect(8, 24, 224, 224));
  const cv::Mat masked = figure(cv::Rect(8 + 232, 24, 224, 224));
  const cv::Mat pasted = figure(cv::Rect(8 + 3 * 232, 24, 224, 224));
  cv::Mat visible;
  cv::compare(masked, original, visible, cv::CMP_EQ);
  cv::Mat same;
  cv::compare(pasted, original, same, cv::CMP_EQ);
  EXPECT_GT(cv::countNonZero(visible.reshape(1)), 0);
  cv::Mat visible_but_changed;
  cv::bitwise_and(visible, ~same, visible_but_changed);
  EXPECT_EQ(cv::countNonZero(visible_but_changed.reshape(1)), 0);
}

}  // namespace
