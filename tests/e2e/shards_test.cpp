// Tar shards end to end: mae_shard packs an ImageNet-style folder, mae_pretrain trains from the shards (a folder of
// them and pipe: URLs), mae_finetune and mae_linprobe train and evaluate from them, and mae_bench data reads them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

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

  // Fine-tuning and linear probing read the packed train/ and val/ shards; the evaluation sees each of the 12
  // validation samples once, and agrees with the evaluation of the same images as a folder.
  const std::string classifier = " --nb_classes 2 --epochs 1 --warmup_epochs 0 --batch_size 2 --num_workers 2 "
                                 "--device cpu --log_dir '' --finetune " +
                                 shell_quote((dir / "out" / "checkpoint-1.pth").string());
  const auto finetuned = run_command("OMP_NUM_THREADS=1 " + mae::test::app("mae_finetune") + classifier +
                                     " --aa '' --reprob 0 --data_path " + shell_quote((dir / "shards").string()) +
                                     " --output_dir " + shell_quote((dir / "finetuned").string()));
  ASSERT_EQ(finetuned.exit_code, 0) << finetuned.output;
  EXPECT_NE(finetuned.output.find("validation: 12 samples of"), std::string::npos) << finetuned.output;
  EXPECT_NE(finetuned.output.find("Accuracy of the network on the 12 test images"), std::string::npos)
      << finetuned.output;
  // The fine-tuned checkpoint evaluated on `data` (a folder of shards or of images) with --nb_classes `classes`.
  const auto evaluate = [&](const std::string& data, int classes) {
    return run_command("OMP_NUM_THREADS=1 " + mae::test::app("mae_finetune") + " --nb_classes " +
                       std::to_string(classes) + " --eval --device cpu --batch_size 2 --num_workers 2 --resume " +
                       shell_quote((dir / "finetuned" / "checkpoint-0.pth").string()) + " --output_dir '' --data_path " +
                       shell_quote((dir / data).string()));
  };
  const auto from_shards = evaluate("shards", 2);
  const auto from_folder = evaluate("images", 2);
  ASSERT_EQ(from_shards.exit_code, 0) << from_shards.output;
  ASSERT_EQ(from_folder.exit_code, 0) << from_folder.output;
  // Accuracy counts samples, so it does not depend on how the batches are made up (the loss meter averages batches).
  const auto accuracy = [](const std::string& output) {
    const auto at = output.rfind("* Acc@1");
    return output.substr(at, output.find(" loss", at) - at);
  };
  EXPECT_EQ(accuracy(from_shards.output), accuracy(from_folder.output));

  // Issue #27: an index.json that claims more samples than a shard holds. The evaluation reads what is there and
  // reports the samples it evaluated (today's main printed the index's 13), naming the shard once.
  {
    std::ifstream in(dir / "shards" / "val" / "index.json");
    auto index = nlohmann::json::parse(in);
    in.close();
    index["shards"][0]["samples"] = index["shards"][0]["samples"].get<int>() + 1;
    std::ofstream(dir / "shards" / "val" / "index.json") << index.dump();
  }
  const auto miscounted = evaluate("shards", 2);
  ASSERT_EQ(miscounted.exit_code, 0) << miscounted.output;
  EXPECT_NE(miscounted.output.find("Accuracy of the network on the 12 test images"), std::string::npos)
      << miscounted.output;
  EXPECT_NE(miscounted.output.find("holds 3 samples, not the 4 its index.json gives it"), std::string::npos)
      << miscounted.output;
  EXPECT_EQ(accuracy(miscounted.output), accuracy(from_folder.output));
  // A class list longer than --nb_classes is refused at start, before any label reaches the loss.
  const auto too_few_classes = evaluate("shards", 1);
  EXPECT_EQ(too_few_classes.exit_code, 2) << too_few_classes.output;
  EXPECT_NE(too_few_classes.output.find("the data has 2 classes but --nb_classes is 1"), std::string::npos)
      << too_few_classes.output;
  const auto probed = run_command("OMP_NUM_THREADS=1 " + mae::test::app("mae_linprobe") + classifier +
                                  " --cls_token --data_path " + shell_quote((dir / "shards").string()) +
                                  " --output_dir " + shell_quote((dir / "probed").string()));
  ASSERT_EQ(probed.exit_code, 0) << probed.output;

  const auto bench = run_command(mae::test::app("mae_bench") + " data --data_path " +
                                 shell_quote((dir / "shards" / "train").string()) +
                                 " --num_workers 2 --batch_size 2 --input_size 32 --epochs 1");
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
