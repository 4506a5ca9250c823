// TensorBoard event files (engine/tensorboard) read back by TensorBoard's own reader.
#include <gtest/gtest.h>

#include <fstream>

#include "mae/engine/tensorboard.h"
#include "support/test_support.h"

namespace {

using mae::test::read_tensorboard;

TEST(TensorBoard, Crc32cIsTheCastagnoliChecksum) {
  EXPECT_EQ(mae::engine::crc32c("123456789"), 0xe3069283U);  // the standard check value
  EXPECT_EQ(mae::engine::crc32c(""), 0U);
}

TEST(TensorBoard, ScalarsReadBackWithTensorBoardsReader) {
  const mae::test::TempDir dir;
  const auto log_dir = dir / "runs";
  {
    mae::engine::TensorBoardWriter writer(log_dir.string());
    EXPECT_EQ(std::filesystem::path(writer.path()).parent_path(), log_dir);
    EXPECT_EQ(std::filesystem::path(writer.path()).filename().string().rfind("events.out.tfevents.", 0), 0U);
    writer.add_scalar("train_loss", 0.75, 0);
    writer.add_scalar("lr", 1.5e-4, 0);
    writer.add_scalar("train_loss", 0.5, 1250);
    writer.add_scalar("perf/test_acc1", 12.5, 3);
  }
  const auto read = read_tensorboard(log_dir);
  EXPECT_EQ(read.at("files"), 1);
  EXPECT_EQ(read.at("file_version"), 2.0);  // TensorBoard parses "brain.Event:2"
  const auto& scalars = read.at("scalars");
  ASSERT_EQ(scalars.size(), 3U) << scalars.dump();
  EXPECT_EQ(scalars.at("train_loss"), nlohmann::json::parse("[[0, 0.75], [1250, 0.5]]"));
  EXPECT_EQ(scalars.at("perf/test_acc1"), nlohmann::json::parse("[[3, 12.5]]"));
  EXPECT_FLOAT_EQ(scalars.at("lr").at(0).at(1).get<float>(), 1.5e-4F);  // stored as float32, as SummaryWriter does
}

TEST(TensorBoard, UnwritableLogDirNamesThePath) {
  const mae::test::TempDir dir;
  const auto blocker = dir / "a_file";
  std::ofstream(blocker) << "not a folder";
  const std::string error =
      mae::test::error_of<mae::IoError>([&] { mae::engine::TensorBoardWriter writer((blocker / "runs").string()); });
  EXPECT_NE(error.find("a_file"), std::string::npos) << error;
}

}  // namespace
