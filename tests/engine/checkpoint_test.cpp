#include <gtest/gtest.h>

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include "mae/config/job_config.h"
#include "mae/engine/checkpoint.h"
#include "mae/io/pth_file.h"
#include "mae/jobs/config_args.h"
#include "mae/models/state_dict.h"
#include "mae/engine/training_state.h"
#include "mae/engine/grad_scaler.h"
#include "mae/engine/param_groups.h"
#include "mae/engine/optimizer.h"
#include "mae/models/mae.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::test::run_command;
using mae::test::shell_quote;

// The dims of tests/interop/checkpoint_peer.py's DIMS.
mae::models::MaeOptions peer_dims() {
  return {{32, 8, 3, 32, 2, 4, 4.0}, 16, 1, 2, true};  // encoder, decoder width/depth/heads
}

mae::test::CommandResult peer(const std::string& arguments) {
  return run_command(mae::test::python() + " " +
                     shell_quote((mae::test::source_dir() / "tests/interop/checkpoint_peer.py").string()) + " " +
                     arguments);
}

c10::impl::GenericDict any_dict() { return c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get()); }

TEST(TrainingCheckpoint, WrittenByUsLoadsIntoTheReferenceModelInPython) {
  mae::test::TempDir dir;
  torch::manual_seed(0);
  mae::models::MaskedAutoencoderViT model(peer_dims());
  model->eval();
  const auto imgs = torch::randn({2, 3, 32, 32});
  const auto noise = torch::rand({2, 16});
  const auto out = model->forward(imgs, 0.75, noise);

  mae::config::PretrainConfig config;
  config.batch_size = 8;
  config.norm_pix_loss = true;
  mae::engine::TrainingState state;
  state.model = mae::models::state_dict(*model);
  auto per_param = any_dict();
  per_param.insert("step", torch::tensor(3.0));
  per_param.insert("exp_avg", torch::ones({3}));
  auto optimizer_state = any_dict();
  optimizer_state.insert(int64_t{1}, per_param);
  auto optimizer = any_dict();
  optimizer.insert("state", optimizer_state);
  optimizer.insert("param_groups", c10::impl::GenericList(c10::AnyType::get()));
  state.optimizer = optimizer;
  state.scaler = mae::engine::GradScalerState{1024.0, 2.0, 0.5, 2000, 5};
  state.epoch = 4;
  state.args = mae::jobs::config_as_dict(config);
  const auto checkpoint = dir / mae::engine::checkpoint_file_name(4);
  mae::engine::save_training_checkpoint(checkpoint.string(), state);

  auto dims = any_dict();
  for (const auto& [key, value] : std::vector<std::pair<std::string, int64_t>>{
           {"img_size", 32}, {"patch_size", 8}, {"in_chans", 3}, {"embed_dim", 32}, {"depth", 2}, {"num_heads", 4},
           {"decoder_embed_dim", 16}, {"decoder_depth", 1}, {"decoder_num_heads", 2}}) {
    dims.insert(key, value);
  }
  auto expected = any_dict();
  expected.insert("dims", dims);
  expected.insert("imgs", imgs);
  expected.insert("noise", noise);
  expected.insert("mask_ratio", 0.75);
  expected.insert("loss", out.loss);
  expected.insert("pred", out.pred);
  mae::io::save_pth((dir / "expected.pth").string(), expected);

  const auto result = peer("check-ours " + shell_quote(checkpoint.string()) + " " +
                           shell_quote((dir / "expected.pth").string()));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("python loaded our checkpoint"), std::string::npos) << result.output;
}

class OfficialFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto result = peer("write-official " + shell_quote(dir.path().string()));
    ASSERT_EQ(result.exit_code, 0) << result.output;
  }

  void expect_reference_outputs(const mae::models::NamedTensors& weights) {
    mae::models::MaskedAutoencoderViT model(peer_dims());
    mae::models::load_state_dict(*model, weights, /*strict=*/true);
    model->eval();
    const auto expected = mae::io::load_pth((dir / "expected.pth").string()).toGenericDict();
    torch::NoGradGuard no_grad;
    const auto out = model->forward(expected.at("imgs").toTensor(), 0.75, expected.at("noise").toTensor());
    EXPECT_TRUE(torch::allclose(out.loss, expected.at("loss").toTensor(), 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(out.pred, expected.at("pred").toTensor(), 1e-5, 1e-5));
  }

  mae::test::TempDir dir;
};

TEST_F(OfficialFiles, TrainingCheckpointWithNamespaceArgsLoadsAndMatchesPython) {
  const auto state = mae::engine::load_training_checkpoint((dir / "checkpoint-3.pth").string());
  EXPECT_EQ(state.epoch, 3);
  ASSERT_TRUE(state.scaler.has_value());
  EXPECT_EQ(state.scaler->growth_tracker, 17);
  EXPECT_DOUBLE_EQ(state.scaler->scale, 32768.0);
  const auto args = state.args.toGenericDict();
  EXPECT_EQ(args.at("batch_size").toInt(), 64);
  EXPECT_TRUE(args.at("lr").isNone());
  expect_reference_outputs(state.model);
}

TEST_F(OfficialFiles, ReleasedStyleFileLoadsAndMatchesPython) {
  expect_reference_outputs(mae::engine::load_model_weights((dir / "released.pth").string()));
}

TEST_F(OfficialFiles, OptimizerStateRoundTripsIntoPythonAdamW) {
  const auto original = (dir / "checkpoint-3.pth").string();
  const auto state = mae::engine::load_training_checkpoint(original);
  const auto resaved = (dir / "resaved.pth").string();
  mae::engine::save_training_checkpoint(resaved, state);
  const auto result = peer("check-optimizer " + shell_quote(resaved) + " " + shell_quote(original));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("optimizer state round trip ok"), std::string::npos) << result.output;
}

TEST_F(OfficialFiles, TruncatedOrCorruptFilesGiveAClearError) {
  const auto original = dir / "checkpoint-3.pth";
  const auto size = std::filesystem::file_size(original);
  const auto truncated = dir / "truncated.pth";
  std::filesystem::copy_file(original, truncated);
  std::filesystem::resize_file(truncated, size / 2);
  try {
    mae::engine::load_training_checkpoint(truncated.string());
    FAIL() << "a truncated file must not load";
  } catch (const mae::IoError& error) {
    EXPECT_NE(std::string(error.what()).find("truncated.pth' is not a readable torch.save file"), std::string::npos)
        << error.what();
  }
  // Flip bytes inside the pickle: the zip layer's CRC check or the unpickler must refuse it, naming the file.
  const auto corrupt = dir / "corrupt.pth";
  std::filesystem::copy_file(original, corrupt);
  {
    std::fstream file(corrupt, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);
    file.write("\xff\xff\xff\xff\xff\xff\xff\xff", 8);
  }
  try {
    mae::engine::load_training_checkpoint(corrupt.string());
    FAIL() << "a corrupt file must not load";
  } catch (const mae::IoError& error) {
    EXPECT_NE(std::string(error.what()).find("corrupt.pth'"), std::string::npos) << error.what();
  }
}

TEST(TrainingCheckpoint, ArgsHoldEverySettingAsTheValueArgparseGives) {
  mae::config::FinetuneConfig config;
  config.cutmix_minmax = std::vector<double>{0.2, 0.8};
  config.color_jitter = 0.4;
  config.finetune_blocks = 2;
  const c10::IValue value = mae::jobs::config_as_dict(config);
  ASSERT_TRUE(value.isGenericDict());
  const auto args = value.toGenericDict();
  std::vector<std::string> keys;
  for (const auto& entry : args) {
    keys.push_back(entry.key().toStringRef());
  }
  EXPECT_EQ(keys.size(), config.fields().size());
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));  // name order, as every checkpoint written so far

  ASSERT_TRUE(args.at("global_pool").isBool());
  EXPECT_TRUE(args.at("global_pool").toBool());
  ASSERT_TRUE(args.at("eval").isBool());
  EXPECT_FALSE(args.at("eval").toBool());
  ASSERT_TRUE(args.at("batch_size").isInt());
  EXPECT_EQ(args.at("batch_size").toInt(), 64);
  ASSERT_TRUE(args.at("finetune_blocks").isInt());  // a set optional int
  EXPECT_EQ(args.at("finetune_blocks").toInt(), 2);
  ASSERT_TRUE(args.at("min_lr").isDouble());
  EXPECT_EQ(args.at("min_lr").toDouble(), 1e-6);
  ASSERT_TRUE(args.at("mixup").isDouble());  // 0.0 stays a float, not the int 0
  EXPECT_EQ(args.at("mixup").toDouble(), 0.0);
  ASSERT_TRUE(args.at("color_jitter").isDouble());  // a set optional float
  EXPECT_EQ(args.at("color_jitter").toDouble(), 0.4);
  ASSERT_TRUE(args.at("aa").isString());
  EXPECT_EQ(args.at("aa").toStringRef(), "rand-m9-mstd0.5-inc1");
  ASSERT_TRUE(args.at("resume").isString());
  EXPECT_EQ(args.at("resume").toStringRef(), "");
  EXPECT_TRUE(args.at("clip_grad").isNone());   // an unset optional float
  EXPECT_TRUE(args.at("patch_size").isNone());  // an unset optional int
  ASSERT_TRUE(args.at("cutmix_minmax").isList());
  const auto minmax = args.at("cutmix_minmax").toList();
  ASSERT_EQ(minmax.size(), 2u);
  ASSERT_TRUE(minmax.get(0).isDouble());
  ASSERT_TRUE(minmax.get(1).isDouble());
  EXPECT_EQ(minmax.get(0).toDouble(), 0.2);
  EXPECT_EQ(minmax.get(1).toDouble(), 0.8);
}

TEST(CheckpointCadence, FollowsTheReference) {
  using mae::engine::checkpoints_due;
  // Pre-training: every 20 epochs and the last; checkpoint-last after every epoch.
  EXPECT_EQ(checkpoints_due(0, 800, 20, true), (std::vector<std::string>{"checkpoint-0.pth", "checkpoint-last.pth"}));
  EXPECT_EQ(checkpoints_due(5, 800, 20, true), (std::vector<std::string>{"checkpoint-last.pth"}));
  EXPECT_EQ(checkpoints_due(40, 800, 20, false), (std::vector<std::string>{"checkpoint-40.pth"}));
  EXPECT_EQ(checkpoints_due(799, 800, 20, false), (std::vector<std::string>{"checkpoint-799.pth"}));
  EXPECT_EQ(checkpoints_due(798, 800, 0, false), (std::vector<std::string>{}));
  // Fine-tuning and linear probing: every epoch.
  EXPECT_EQ(checkpoints_due(3, 50, 1, false), (std::vector<std::string>{"checkpoint-3.pth"}));
  EXPECT_EQ(mae::config::FinetuneConfig{}.save_every, 1);
  EXPECT_EQ(mae::config::PretrainConfig{}.save_every, 20);
}

// A checkpoint file as the jobs write it: `epoch` completed, or a stop's position inside the next one.
void write_checkpoint(const std::filesystem::path& path, int64_t epoch,
                      std::optional<mae::engine::EpochPosition> position = std::nullopt) {
  mae::engine::TrainingState state;
  state.model = {{"w", torch::zeros({2})}};
  state.optimizer = any_dict();
  state.epoch = epoch;
  state.position = position;
  mae::engine::save_training_checkpoint(path.string(), state);
}

TEST(CheckpointCadence, ResumeAutoFindsTheNewestCompleteCheckpoint) {
  mae::test::TempDir dir;
  EXPECT_FALSE(mae::engine::find_resume_checkpoint((dir / "absent").string()).has_value());
  EXPECT_FALSE(mae::engine::find_resume_checkpoint(dir.path().string()).has_value());
  write_checkpoint(dir / "checkpoint-0.pth", 0);
  write_checkpoint(dir / "checkpoint-20.pth", 20);
  write_checkpoint(dir / "checkpoint-3.pth", 3);
  std::ofstream(dir / "checkpoint-40.pth.tmp.77") << "x";  // an unfinished write: never a candidate
  std::ofstream(dir / "log.txt") << "x";
  EXPECT_EQ(mae::engine::find_resume_checkpoint(dir.path().string())->path, (dir / "checkpoint-20.pth").string());
  write_checkpoint(dir / "checkpoint-last.pth", 21);
  const auto choice = mae::engine::find_resume_checkpoint(dir.path().string());
  EXPECT_EQ(choice->path, (dir / "checkpoint-last.pth").string());
  EXPECT_EQ(choice->considered, "checkpoint-0.pth (epoch 1, step 0), checkpoint-20.pth (epoch 21, step 0), "
                                "checkpoint-3.pth (epoch 4, step 0), checkpoint-last.pth (epoch 22, step 0)");
}

// Issue #27: with --no_save_last, a SIGTERM in epoch 1 leaves a position checkpoint-last.pth; the resumed run writes
// checkpoint-3.pth and is killed. Resuming must continue after epoch 3, not go back to epoch 1's position (today's
// main chose checkpoint-last.pth by its name and retrained epochs 1-3).
TEST(CheckpointCadence, ResumeAutoNeverGoesBackInTime) {
  mae::test::TempDir dir;
  write_checkpoint(dir / "checkpoint-last.pth", 0, mae::engine::EpochPosition{1, 11, 17, 1, 0});
  EXPECT_EQ(mae::engine::find_resume_checkpoint(dir.path().string())->path, (dir / "checkpoint-last.pth").string());
  write_checkpoint(dir / "checkpoint-0.pth", 0);
  EXPECT_EQ(mae::engine::find_resume_checkpoint(dir.path().string())->path, (dir / "checkpoint-last.pth").string())
      << "epoch 1 step 11 is further along than the end of epoch 0";
  write_checkpoint(dir / "checkpoint-3.pth", 3);
  EXPECT_EQ(mae::engine::find_resume_checkpoint(dir.path().string())->path, (dir / "checkpoint-3.pth").string());
  // A kill between the numbered file's rename and the checkpoint-last.pth link: the link is an epoch behind.
  write_checkpoint(dir / "checkpoint-last.pth", 2);
  EXPECT_EQ(mae::engine::find_resume_checkpoint(dir.path().string())->path, (dir / "checkpoint-3.pth").string());
  // A candidate that cannot be read is left out, not fatal.
  std::ofstream(dir / "checkpoint-9.pth") << "not a zip";
  EXPECT_EQ(mae::engine::find_resume_checkpoint(dir.path().string())->path, (dir / "checkpoint-3.pth").string());
}

// Issue #27: a preempted run on shards resumed with another --num_workers silently read other samples from the step
// on (the shards are dealt to the loader workers). The position records the worker count, and another is refused.
TEST(CheckpointCadence, APositionOnShardsResumesOnlyWithItsLoaderWorkers) {
  mae::test::TempDir dir;
  torch::nn::Linear model(2, 2);
  mae::engine::AdamW optimizer(mae::engine::weight_decay_groups(*model, 0.05), 1e-3);
  mae::engine::GradScaler scaler(false);
  mae::engine::TrainingState state;
  state.model = mae::models::state_dict(*model);
  state.optimizer = optimizer.state_dict();
  state.epoch = 0;
  state.position = mae::engine::EpochPosition{1, 4, 8, 1, 0, /*loader_workers=*/2};
  const auto path = (dir / "checkpoint-last.pth").string();
  mae::engine::save_training_checkpoint(path, state);

  const mae::engine::ResumeRequest request{.resume = path, .seed = 0};
  const std::string error = mae::test::error_of<mae::UsageError>(
      [&] { mae::engine::resume_training(request, *model, &optimizer, &scaler, {8, 1, /*loader_workers=*/3}); });
  EXPECT_NE(error.find("read its shards with 2 loader workers; this run has 3"), std::string::npos) << error;
  EXPECT_NE(error.find("resume with --num_workers 2"), std::string::npos) << error;
  const auto start = mae::engine::resume_training(request, *model, &optimizer, &scaler, {8, 1, 2});
  EXPECT_EQ(start.epoch, 1);
  EXPECT_EQ(start.step, 4);
}

}  // namespace
