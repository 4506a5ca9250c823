// Tar shards end to end: mae_shard packs an ImageNet-style folder, mae_pretrain trains from the shards (a folder of
// them and pipe: URLs), and mae_bench data reads them.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.h"

namespace {

using mae::test::run_command;
using mae::test::shell_quote;

std::string pretrain(const std::string& data_path, const std::filesystem::path& out, const std::string& extra = "") {
  return "OMP_NUM_THREADS=1 " + mae::test::app("mae_pretrain") +
         " --model mae_vit_tiny_patch4 --input_size 32 --batch_size 2 --num_workers 2 --device cpu --epochs 2" +
         " --warmup_epochs 1 --data_path " + shell_quote(data_path) + " --output_dir " + shell_quote(out.string()) +
         " --log_dir '' " + extra;
}

TEST(Shards, PackedFolderTrainsFromItsShards) {
  mae::test::TempDir dir;
  for (const std::string split : {"train", "val"}) {
    mae::test::write_random_images(dir / "images" / split / "a", 6, split == "train" ? 51 : 52);
    mae::test::write_random_images(dir / "images" / split / "b", 6, split == "train" ? 53 : 54);
  }
  const auto packed = run_command(mae::test::app("mae_shard") + " --data_path " +
                                  shell_quote((dir / "images").string()) + " --output_dir " +
                                  shell_quote((dir / "shards").string()) + " --samples_per_shard 3");
  ASSERT_EQ(packed.exit_code, 0) << packed.output;
  EXPECT_NE(packed.output.find("/train: 4 shards, 12 samples"), std::string::npos) << packed.output;
  EXPECT_NE(packed.output.find("/val: 4 shards, 12 samples"), std::string::npos) << packed.output;

  // --data_path names the packed folder: its train/ shards, with the epoch length of their index.json.
  const auto folder = run_command(pretrain((dir / "shards").string(), dir / "out"));
  ASSERT_EQ(folder.exit_code, 0) << folder.output;
  EXPECT_NE(folder.output.find("Dataset: 4 shards of"), std::string::npos) << folder.output;
  EXPECT_NE(folder.output.find("12 samples an epoch (index.json)"), std::string::npos) << folder.output;
  EXPECT_EQ(mae::test::log_lines(dir / "out").size(), 2u);

  // pipe: URLs, the way object stores are read, with the epoch length as a flag.
  const std::string pipe = "pipe:cat " + (dir / "shards" / "train").string() + "/train-{000000..000003}.tar";
  const auto piped = run_command(pretrain(pipe, dir / "piped", "--samples_per_epoch 12 --shuffle_buffer 4"));
  ASSERT_EQ(piped.exit_code, 0) << piped.output;
  EXPECT_NE(piped.output.find("12 samples an epoch (--samples_per_epoch)"), std::string::npos) << piped.output;

  const auto bench = run_command(mae::test::app("mae_bench") + " data --data " +
                                 shell_quote((dir / "shards" / "train").string()) +
                                 " --workers 2 --batch_size 2 --input_size 32 --epochs 1");
  ASSERT_EQ(bench.exit_code, 0) << bench.output;
  EXPECT_NE(bench.output.find("12 images, 2 worker thread(s)"), std::string::npos) << bench.output;
}

TEST(Shards, TooFewShardsForTheReadersIsNamed) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "images", 4, 55);
  ASSERT_EQ(run_command(mae::test::app("mae_shard") + " --data_path " + shell_quote((dir / "images").string()) +
                        " --output_dir " + shell_quote((dir / "shards").string()))
                .exit_code,
            0);
  const auto result = run_command(pretrain((dir / "shards").string(), dir / "out"));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("1 shard(s) for 1 rank(s) x 2 loader worker(s)"), std::string::npos) << result.output;
}

}  // namespace
