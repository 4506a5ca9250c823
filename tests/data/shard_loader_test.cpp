// ShardLoader: each shard read by exactly one (rank, worker) per epoch, epochs of a fixed length on every rank
// whatever the shard sizes, the pixels of the folder path, pipe: shards, resumed epochs, and bad shards named.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "mae/data/folder/image_folder.h"
#include "mae/data/image/image_io.h"
#include "mae/data/augment/rng.h"
#include "mae/data/folder/loader.h"
#include "mae/data/shards/shard_list.h"
#include "mae/data/shards/shard_loader.h"
#include "mae/data/shards/shard_packer.h"
#include "mae/data/shards/tar_writer.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using mae::data::ShardLoader;
using mae::data::LoaderOptions;

// Two classes of random 20x20 images packed `per_shard` samples a shard; returns the shard folder.
fs::path packed(const mae::test::TempDir& dir, int per_class, int per_shard) {
  mae::test::write_random_images(dir / "images" / "a", per_class, 7);
  mae::test::write_random_images(dir / "images" / "b", per_class, 8);
  mae::data::PackOptions options;
  options.input = (dir / "images").string();
  options.output = (dir / "shards").string();
  options.samples_per_shard = per_shard;
  mae::data::pack_shards(options);
  return dir / "shards";
}

std::vector<std::string> shard_files(const fs::path& folder) { return mae::data::expand_shard_spec(folder.string()); }

TEST(ShardLoader, EachShardIsReadByExactlyOneRankAndWorkerPerEpoch) {
  mae::test::TempDir dir;
  const auto shards = shard_files(packed(dir, 9, 2));  // 18 samples in 9 shards
  ASSERT_EQ(shards.size(), 9u);
  LoaderOptions options;
  options.batch_size = 2;
  options.num_workers = 2;
  options.world_size = 2;
  const ShardLoader loader(shards, mae::data::eval_transform(16), options);
  std::vector<std::string> first_epoch_order;
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    std::multiset<std::string> read;
    for (int rank = 0; rank < 2; ++rank) {
      for (int worker = 0; worker < 2; ++worker) {
        const auto mine = loader.shards_of(epoch, rank, worker);
        EXPECT_GE(mine.size(), 2u);  // 9 shards over 4 slots: 3, 2, 2, 2
        read.insert(mine.begin(), mine.end());
        if (epoch == 0) {
          first_epoch_order.insert(first_epoch_order.end(), mine.begin(), mine.end());
        }
      }
    }
    EXPECT_EQ(read, std::multiset<std::string>(shards.begin(), shards.end())) << "epoch " << epoch;
  }
  // The deal is reshuffled every epoch.
  std::vector<std::string> second_epoch_order;
  for (int rank = 0; rank < 2; ++rank) {
    for (int worker = 0; worker < 2; ++worker) {
      const auto mine = loader.shards_of(1, rank, worker);
      second_epoch_order.insert(second_epoch_order.end(), mine.begin(), mine.end());
    }
  }
  EXPECT_NE(first_epoch_order, second_epoch_order);
}

TEST(ShardLoader, EveryRankReadsTheSameNumberOfBatchesWhateverTheShardSizes) {
  mae::test::TempDir dir;
  // 11 samples of class a and 11 of b in shards of 4: sizes 4, 4, 4, 4, 4, 2, uneven between the slots.
  const auto shards = shard_files(packed(dir, 11, 4));
  ASSERT_EQ(shards.size(), 6u);
  for (int rank = 0; rank < 2; ++rank) {
    LoaderOptions options;
    options.batch_size = 3;
    options.num_workers = 3;
    options.world_size = 2;
    options.rank = rank;
    options.shuffle_buffer = 4;
    options.require_labels = true;
    ShardLoader loader(shards, mae::data::eval_transform(16), options);
    EXPECT_EQ(loader.samples_per_epoch(), 22);  // from index.json
    EXPECT_EQ(loader.batches_per_epoch(), 3);   // 11 samples a rank, 3 full batches of 3
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      loader.start_epoch(epoch);
      int64_t batches = 0;
      while (auto batch = loader.next()) {
        EXPECT_EQ(batch->images.sizes(), (std::vector<int64_t>{3, 3, 16, 16}));
        EXPECT_TRUE(((batch->labels == 0) | (batch->labels == 1)).all().item<bool>());
        ++batches;
      }
      EXPECT_EQ(batches, 3) << "rank " << rank << " epoch " << epoch;
      EXPECT_EQ(loader.skipped_images(), 0);
    }
  }
}

// mae_shard keys a sample by its image's position in the folder, so even the random pre-training transform draws the
// same crop and flip for it from shards as the folder loader does for that image (Rng(seed, epoch, index)). Rank 1
// of 2 reads one of the two shards, so the samples' positions in its stream are not their folder indices.
TEST(ShardLoader, SamplesHaveTheFolderPathsPixels) {
  mae::test::TempDir dir;
  const auto folder = packed(dir, 5, 5);  // keys 0-4 (class a) in one shard, 5-9 (class b) in the other
  const auto images = mae::data::ImageFolder::with_classes((dir / "images").string());
  for (const bool random : {false, true}) {
    SCOPED_TRACE(random ? "pretrain_transform" : "eval_transform");
    const auto transform = random ? mae::data::pretrain_transform(16) : mae::data::eval_transform(16);
    LoaderOptions options;
    options.batch_size = 5;
    options.num_workers = 1;
    options.world_size = 2;
    options.rank = 1;
    options.shuffle_buffer = 0;
    options.require_labels = true;
    options.seed = 3;
    ShardLoader shards(shard_files(folder), transform, options);
    shards.start_epoch(2);
    const auto batch = shards.next();
    ASSERT_TRUE(batch.has_value());
    const int64_t first = batch->labels[0].item<int64_t>() == 0 ? 0 : 5;
    for (int64_t k = 0; k < 5; ++k) {
      const auto index = static_cast<std::size_t>(first + k);
      mae::data::Rng rng(3, 2, index);
      const auto expected = transform(mae::data::EncodedImage::open(images.samples()[index].path), rng);
      EXPECT_TRUE(torch::equal(batch->images[k], expected)) << "sample " << index;
      EXPECT_EQ(batch->labels[k].item<int64_t>(), images.samples()[index].label);
    }
  }
}

TEST(ShardLoader, PipeShardsAndAResumedEpoch) {
  mae::test::TempDir dir;
  const auto folder = packed(dir, 6, 3);  // 4 shards of 3
  const std::string spec = "pipe:cat " + (folder / "shard-{000000..000003}.tar").string();
  ASSERT_TRUE(mae::data::is_shard_spec(spec));
  LoaderOptions options;
  options.batch_size = 2;
  options.num_workers = 2;
  options.samples_per_epoch = 12;  // pipe: shards have no index beside them
  options.shuffle_buffer = 3;
  ShardLoader loader(mae::data::expand_shard_spec(spec), mae::data::pretrain_transform(16), options);
  loader.start_epoch(3);
  std::vector<at::Tensor> whole;
  while (auto batch = loader.next()) {
    whole.push_back(batch->images);
  }
  ASSERT_EQ(whole.size(), 6u);
  loader.start_epoch(3, 4);  // a preempted run resuming at batch 4: the same last two batches
  for (std::size_t i = 4; i < whole.size(); ++i) {
    const auto batch = loader.next();
    ASSERT_TRUE(batch.has_value());
    EXPECT_TRUE(torch::equal(batch->images, whole[i])) << "batch " << i;
  }
  EXPECT_FALSE(loader.next().has_value());
}

TEST(ShardLoader, BadShardsAreSkippedAndCountedOrStopTheJob) {
  mae::test::TempDir dir;
  auto shards = shard_files(packed(dir, 4, 2));  // 4 shards of 2
  shards.push_back((dir / "missing.tar").string());
  shards.push_back("pipe:exit 3");
  LoaderOptions options;
  options.batch_size = 2;
  options.num_workers = 1;
  options.samples_per_epoch = 8;
  options.shuffle_buffer = 0;
  {
    ShardLoader lenient(shards, mae::data::eval_transform(16), options);
    lenient.start_epoch(0);
    int64_t batches = 0;
    while (lenient.next()) {
      ++batches;
    }
    EXPECT_EQ(batches, 4);
    EXPECT_GE(lenient.skipped_images(), 1);
  }
  options.strict_data = true;
  ShardLoader strict({(dir / "missing.tar").string()}, mae::data::eval_transform(16), options);
  strict.start_epoch(0);
  const std::string message = mae::test::error_of<mae::IoError>([&] { strict.next(); });
  EXPECT_NE(message.find("missing.tar"), std::string::npos) << message;
}

TEST(ShardLoader, EvaluationReadsEverySampleOnceOverTheRanks) {
  mae::test::TempDir dir;
  const auto shards = shard_files(packed(dir, 5, 3));  // 10 samples in shards of 3, 3, 3, 1
  std::vector<int64_t> labels;
  for (int rank = 0; rank < 2; ++rank) {
    LoaderOptions options;
    options.batch_size = 2;
    options.num_workers = 2;
    options.world_size = 2;
    options.rank = rank;
    options.drop_last = false;  // evaluation
    ShardLoader loader(shards, mae::data::eval_transform(16), options);
    // Rank 0 reads shards 0 and 2 (3 + 3 samples: 2 + 2 batches), rank 1 shards 1 and 3 (3 + 1: 2 + 1), one shard a
    // worker: the ranks share the shards evenly however many workers they have.
    EXPECT_EQ(loader.shards_of(0, rank, 0), std::vector<std::string>{shards[static_cast<std::size_t>(rank)]});
    EXPECT_EQ(loader.shards_of(0, rank, 1), std::vector<std::string>{shards[static_cast<std::size_t>(rank) + 2]});
    EXPECT_EQ(loader.batches_per_epoch(), rank == 0 ? 4 : 3);
    loader.start_epoch(0);
    while (auto batch = loader.next()) {
      const auto values = batch->labels.contiguous();
      labels.insert(labels.end(), values.data_ptr<int64_t>(), values.data_ptr<int64_t>() + values.numel());
    }
  }
  std::sort(labels.begin(), labels.end());
  EXPECT_EQ(labels, (std::vector<int64_t>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1}));
}

TEST(ShardLoader, TooFewShardsOrAnUnknownEpochAreUsageErrors) {
  mae::test::TempDir dir;
  const auto shards = shard_files(packed(dir, 2, 2));  // 2 shards
  LoaderOptions options;
  options.batch_size = 1;
  options.num_workers = 2;
  options.world_size = 2;
  const std::string too_few =
      mae::test::error_of<mae::UsageError>([&] { ShardLoader(shards, mae::data::eval_transform(16), options); });
  EXPECT_NE(too_few.find("2 shard(s) for 2 rank(s) x 2 loader worker(s) = 4 readers"), std::string::npos) << too_few;
  options.world_size = 1;
  options.num_workers = 1;
  const std::string unknown = mae::test::error_of<mae::UsageError>(
      [&] { ShardLoader({"pipe:cat " + shards[0]}, mae::data::eval_transform(16), options); });
  EXPECT_NE(unknown.find("--samples_per_epoch"), std::string::npos) << unknown;
}

// Issue #27: a training epoch reads its shards round and round, and counted a bad sample each time it met it. It is
// counted once per epoch (and the first few are named in the log).
TEST(ShardLoader, ABadSampleMetAgainInTheEpochIsCountedOnce) {
  mae::test::TempDir dir;
  auto shards = shard_files(packed(dir, 4, 2));  // 4 shards of 2 good samples
  const auto bad = dir / "bad.tar";
  {
    std::ofstream out(bad, std::ios::binary);
    mae::data::TarWriter writer(out, bad.string());
    writer.add("k1.jpg", std::string_view("not a jpeg"));  // does not decode
    writer.add("k2.png", std::string_view("not a png"));
    writer.add("k3.cls", std::string_view("1"));  // no image
    writer.add("k4.png", mae::test::read_file(dir / "images" / "a" / "0.png"));
    writer.finish();
  }
  shards.push_back(bad.string());
  LoaderOptions options;
  options.batch_size = 2;
  options.num_workers = 1;
  options.samples_per_epoch = 40;  // 9 good samples a round: the bad shard is met 4 or 5 times
  options.shuffle_buffer = 0;
  ShardLoader loader(shards, mae::data::eval_transform(16), options);
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    loader.start_epoch(epoch);
    int64_t batches = 0;
    while (loader.next()) {
      ++batches;
    }
    EXPECT_EQ(batches, 20);
    EXPECT_EQ(loader.skipped_images(), 3) << "epoch " << epoch;
  }
}

// Rewrites <folder>/index.json with `samples` for shard file `name`.
void set_indexed_samples(const fs::path& folder, const std::string& name, int64_t samples) {
  std::ifstream in(folder / "index.json");
  auto index = nlohmann::json::parse(in);
  in.close();
  for (auto& shard : index.at("shards")) {
    if (shard.at("name") == name) {
      shard["samples"] = samples;
    }
  }
  std::ofstream(folder / "index.json") << index.dump();
}

// Issue #27: an index.json that miscounts a shard went unnoticed; an evaluation counted from it silently left samples
// out. Holding more samples than indexed stops an evaluation; holding fewer gives partial batches of what is there.
TEST(ShardLoader, AnIndexThatMiscountsAShardIsCaughtWhenTheShardIsRead) {
  mae::test::TempDir dir;
  const fs::path folder = packed(dir, 3, 3);  // 2 shards of 3
  const auto shards = shard_files(folder);
  LoaderOptions options;
  options.batch_size = 2;
  options.num_workers = 1;
  options.drop_last = false;  // evaluation
  set_indexed_samples(folder, fs::path(shards[0]).filename().string(), 2);
  {
    ShardLoader loader(shards, mae::data::eval_transform(16), options);
    loader.start_epoch(0);
    const std::string error = mae::test::error_of<mae::UsageError>([&] {
      while (loader.next()) {
      }
    });
    EXPECT_NE(error.find("holds more samples than the 2 its index.json gives it"), std::string::npos) << error;
  }
  set_indexed_samples(folder, fs::path(shards[0]).filename().string(), 4);
  ShardLoader loader(shards, mae::data::eval_transform(16), options);
  loader.start_epoch(0);
  int64_t evaluated = 0;
  while (auto batch = loader.next()) {
    evaluated += batch->images.size(0);
  }
  EXPECT_EQ(evaluated, 6);  // every sample there is, once
}

}  // namespace
