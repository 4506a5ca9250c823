#include <gtest/gtest.h>

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "mae/data/folder/loader.h"
#include "mae/io/pth_file.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using namespace mae::data;

// A class folder of small distinct images: image k is filled with value k.
ImageFolder write_images(const std::filesystem::path& root, int count) {
  for (int k = 0; k < count; ++k) {
    const auto folder = root / (k % 2 == 0 ? "even" : "odd");
    std::filesystem::create_directories(folder);
    cv::imwrite((folder / (std::to_string(1000 + k) + ".png")).string(),
                cv::Mat(12 + k % 3, 16, CV_8UC3, cv::Scalar(k, 2 * k, 3 * k)));
  }
  return ImageFolder::with_classes(root.string());
}

std::vector<Batch> epoch_batches(DataLoader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<Batch> batches;
  while (auto batch = loader.next()) {
    batches.push_back(*batch);
  }
  return batches;
}

TEST(Sampler, ShuffleIsTorchRandpermAndShardsAreDisjoint) {
  const auto reference = mae::io::load_pth(
      (mae::test::source_dir() / "tests/fixtures/data/transforms.pth").string()).toGenericDict();
  const auto order = sampler_indices(10, /*epoch=*/0, /*seed=*/5, 0, 1, true);
  EXPECT_TRUE(torch::equal(torch::tensor(order), reference.at("randperm_10_seed_5").toTensor()));
  EXPECT_NE(sampler_indices(10, 1, 5, 0, 1, true), order);  // a new order every epoch

  std::multiset<int64_t> seen;
  for (int rank = 0; rank < 3; ++rank) {
    const auto shard = sampler_indices(10, 2, 0, rank, 3, true);
    EXPECT_EQ(shard.size(), 4u);  // 10 padded to 12
    seen.insert(shard.begin(), shard.end());
  }
  EXPECT_EQ(seen.size(), 12u);
  for (int64_t i = 0; i < 10; ++i) {
    EXPECT_GE(seen.count(i), 1u);
  }
  EXPECT_EQ(sampler_indices(5, 0, 0, 1, 2, false), (std::vector<int64_t>{1, 3, 0}));
}

TEST(DataLoader, SameBatchesWhateverTheNumberOfWorkers) {
  mae::test::TempDir dir;
  const auto dataset = write_images(dir / "train", 23);
  std::vector<std::vector<Batch>> runs;
  for (const int workers : {0, 1, 3}) {
    LoaderOptions options;
    options.batch_size = 4;
    options.num_workers = workers;
    options.seed = 7;
    DataLoader loader(dataset, pretrain_transform(8), options);
    EXPECT_EQ(loader.batches_per_epoch(), 5);  // 23 // 4, drop_last
    runs.push_back(epoch_batches(loader, 3));
  }
  for (std::size_t run = 1; run < runs.size(); ++run) {
    ASSERT_EQ(runs[run].size(), runs[0].size());
    for (std::size_t b = 0; b < runs[0].size(); ++b) {
      EXPECT_TRUE(torch::equal(runs[run][b].images, runs[0][b].images)) << "workers run " << run << " batch " << b;
      EXPECT_TRUE(torch::equal(runs[run][b].labels, runs[0][b].labels));
    }
  }
  EXPECT_EQ(runs[0][0].images.sizes(), (std::vector<int64_t>{4, 3, 8, 8}));
}

TEST(DataLoader, EvaluationKeepsTheLastPartialBatchInOrder) {
  mae::test::TempDir dir;
  const auto dataset = write_images(dir / "val", 7);
  LoaderOptions options;
  options.batch_size = 3;
  options.num_workers = 2;
  options.shuffle = false;
  options.drop_last = false;
  DataLoader loader(dataset, eval_transform(8), options);
  const auto batches = epoch_batches(loader, 0);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2].images.size(0), 1);
  EXPECT_TRUE(torch::equal(torch::cat({batches[0].labels, batches[1].labels, batches[2].labels}),
                           torch::tensor({0, 0, 0, 0, 1, 1, 1}, torch::kLong)));  // "even" files, then "odd"
  std::vector<std::string> names;  // each batch names its images, in the folder's order
  for (const auto& batch : batches) {
    ASSERT_EQ(batch.names.size(), static_cast<std::size_t>(batch.images.size(0)));
    names.insert(names.end(), batch.names.begin(), batch.names.end());
  }
  std::vector<std::string> paths;
  for (const auto& sample : dataset.samples()) {
    paths.push_back(sample.path);
  }
  EXPECT_EQ(names, paths);
}

TEST(DataLoader, StoppingEarlyNeitherHangsNorLeaks) {
  mae::test::TempDir dir;
  const auto dataset = write_images(dir / "train", 40);
  LoaderOptions options;
  options.batch_size = 2;
  options.num_workers = 4;
  for (int round = 0; round < 3; ++round) {
    DataLoader loader(dataset, pretrain_transform(8), options);
    loader.start_epoch(round);
    ASSERT_TRUE(loader.next().has_value());
    loader.start_epoch(round + 1);  // abandon an epoch midway
    ASSERT_TRUE(loader.next().has_value());
  }  // destroyed with workers mid-epoch
  SUCCEED();
}

TEST(DataLoader, UnreadableImagesAreSkippedOrFatalWithStrictData) {
  mae::test::TempDir dir;
  auto dataset = write_images(dir / "train", 8);
  std::ofstream(dataset.samples()[3].path, std::ios::trunc) << "corrupt";
  LoaderOptions options;
  options.batch_size = 4;
  options.num_workers = 2;
  options.shuffle = false;
  DataLoader loader(dataset, pretrain_transform(8), options);
  const auto batches = epoch_batches(loader, 0);
  EXPECT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].images.size(0), 4);
  EXPECT_EQ(loader.skipped_images(), 1);
  // The next readable image takes the place, with its own label: samples 0-3 are 'even' (label 0), sample 4 'odd'.
  EXPECT_TRUE(torch::equal(batches[0].labels, torch::tensor({0, 0, 0, 1}, torch::kLong)));

  // Evaluation leaves it out: 7 images in all, so that accuracy counts only images that were read.
  LoaderOptions evaluation = options;
  evaluation.drop_last = false;
  evaluation.replace_unreadable = false;
  DataLoader evaluating(dataset, pretrain_transform(8), evaluation);
  const auto evaluated = epoch_batches(evaluating, 0);
  ASSERT_EQ(evaluated.size(), 2u);
  EXPECT_TRUE(torch::equal(evaluated[0].labels, torch::tensor({0, 0, 0}, torch::kLong)));
  EXPECT_EQ(evaluated[0].images.size(0) + evaluated[1].images.size(0), 7);
  EXPECT_EQ(evaluating.skipped_images(), 1);

  options.strict_data = true;
  DataLoader strict(dataset, pretrain_transform(8), options);
  strict.start_epoch(0);
  try {
    while (strict.next()) {
    }
    FAIL() << "--strict_data must stop at the corrupt image";
  } catch (const mae::IoError& error) {
    EXPECT_NE(std::string(error.what()).find(std::filesystem::path(dataset.samples()[3].path).filename().string()),
              std::string::npos)
        << error.what();
  }
}

}  // namespace
