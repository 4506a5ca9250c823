// Checkpoints written in the background: the file holds the state as it was when the snapshot was taken (training
// may change the model meanwhile), a failed write is reported, and a broken (NaN) state is never written.
#include "mae/engine/checkpoint_writer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "mae/config/job_config.h"
#include "mae/engine/grad_scaler.h"
#include "mae/engine/optimizer.h"
#include "mae/engine/param_groups.h"
#include "mae/jobs/config_args.h"
#include "mae/models/mae.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::engine::CheckpointWriter;

struct Training {
  mae::models::MaskedAutoencoderViT model{mae::models::MaeOptions{{16, 4, 3, 16, 1, 2, 2.0}, 8, 1, 2}};
  mae::engine::AdamW optimizer{mae::engine::weight_decay_groups(*model, 0.05), 1e-3, {0.9, 0.95}};
  mae::engine::GradScaler scaler{false};

  // One real AdamW step, so that the optimizer has state (exp_avg, exp_avg_sq, step) to copy.
  void step() {
    model->training_loss(torch::randn({2, 3, 16, 16}), 0.75).backward();
    optimizer.step();
    optimizer.zero_grad();
  }
  mae::engine::TrainingState snapshot(int64_t epoch) {
    return mae::engine::snapshot_training_state(*model, optimizer, scaler, epoch,
                                                mae::jobs::config_as_dict(mae::config::PretrainConfig{}));
  }
};

TEST(CheckpointWriter, WritesTheSnapshotNotWhatTrainingChangedSince) {
  mae::test::TempDir dir;
  torch::manual_seed(0);
  Training training;
  training.step();
  const at::Tensor before = training.model->decoder_pred->weight.detach().clone();
  const auto path = (dir / "checkpoint-0.pth").string();
  const auto last = (dir / "checkpoint-last.pth").string();
  CheckpointWriter writer;
  writer.submit({path, last}, training.snapshot(0));
  training.step();  // training goes on while the file is written
  ASSERT_FALSE(torch::equal(before, training.model->decoder_pred->weight));
  writer.wait();
  for (const auto& file : {path, last}) {
    const auto written = mae::engine::load_training_checkpoint(file);
    EXPECT_EQ(written.epoch, 0);
    for (const auto& [name, tensor] : written.model) {
      if (name == "decoder_pred.weight") {
        EXPECT_TRUE(torch::equal(tensor, before)) << file;
      }
    }
    // The optimizer's moments were copied too: step 1's, not step 2's.
    const auto state = written.optimizer.toGenericDict().at("state").toGenericDict();
    ASSERT_FALSE(state.empty());
    EXPECT_DOUBLE_EQ(state.begin()->value().toGenericDict().at("step").toTensor().item<double>(), 1.0);
  }
  // checkpoint-last.pth may share checkpoint-0.pth's file (a hard link): replacing it must leave checkpoint-0 as it
  // was.
  writer.submit({(dir / "checkpoint-1.pth").string(), last}, training.snapshot(1));
  writer.wait();
  EXPECT_EQ(mae::engine::load_training_checkpoint(last).epoch, 1);
  EXPECT_EQ(mae::engine::load_training_checkpoint(path).epoch, 0);
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().extension(), ".pth") << "a temporary file was left: " << entry.path();
  }
}

TEST(CheckpointWriter, AFailedWriteIsReportedByTheNextCall) {
  mae::test::TempDir dir;
  Training training;
  const auto missing = (dir / "no/such/folder/checkpoint-0.pth").string();
  CheckpointWriter writer;
  writer.submit({missing}, training.snapshot(0));
  const std::string error = mae::test::error_of<std::exception>([&] { writer.wait(); });
  EXPECT_NE(error.find("no/such/folder"), std::string::npos) << error;
  EXPECT_NO_THROW(writer.wait());  // reported once; the writer takes new work
  writer.submit({(dir / "checkpoint-1.pth").string()}, training.snapshot(1));
  writer.wait();
  EXPECT_TRUE(std::filesystem::exists(dir / "checkpoint-1.pth"));
}

TEST(CheckpointWriter, ANonFiniteStateIsNeverSnapshotted) {
  Training training;
  training.step();
  {
    const torch::NoGradGuard no_grad;
    training.model->blocks[0]->as<mae::models::BlockImpl>()->mlp->fc2->weight[0][1] = NAN;
  }
  const std::string error = mae::test::error_of<mae::Error>([&] { training.snapshot(3); });
  EXPECT_NE(error.find("'blocks.0.mlp.fc2.weight' holds NaN or inf"), std::string::npos) << error;

  Training moments;  // healthy weights, a broken moment (state_dict()'s tensors are the optimizer's own)
  moments.step();
  auto state = moments.optimizer.state_dict().toGenericDict().at("state").toGenericDict();
  state.begin()->value().toGenericDict().at("exp_avg").toTensor().fill_(INFINITY);
  const std::string moment_error = mae::test::error_of<mae::Error>([&] { moments.snapshot(3); });
  EXPECT_NE(moment_error.find("optimizer.state."), std::string::npos) << moment_error;
  EXPECT_NE(moment_error.find(".exp_avg' holds NaN or inf"), std::string::npos) << moment_error;
}

}  // namespace
