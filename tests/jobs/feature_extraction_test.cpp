// Feature extraction from tar shards through the ShardLoader's evaluation mode: in one process with one loader worker
// the rows are the folder's the shards were packed from, in order, named "<shard>:<key>"; with two workers the same
// rows come in another order under the same names; on two Gloo ranks every rank ends with every row, rank 0's shards
// first, and under torchrun's one-process group the rows keep their names.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mae/data/data_source.h"
#include "mae/data/shards/shard_packer.h"
#include "mae/distributed/communicator.h"
#include "mae/io/pth_file.h"
#include "mae/jobs/feature_extraction.h"
#include "mae/models/vit.h"
#include "support/loopback_job.h"
#include "support/test_support.h"

namespace {

constexpr int kWorldSize = 2;

// The same small encoder in every process.
mae::models::VisionTransformer small_encoder() {
  torch::manual_seed(3);
  return mae::models::VisionTransformer(mae::models::VitOptions{{16, 4, 3, 16, 1, 2, 2.0}, 2, 0.0, false});
}

mae::jobs::ExtractionOptions small_extraction(int workers) {
  mae::jobs::ExtractionOptions options;
  options.input_size = 16;
  options.batch_size = 3;  // not the shards' size, so that two workers interleave within shards
  options.num_workers = workers;
  return options;
}

// args: rank port world_size shards output_prefix. Writes the features (<prefix>.features) and labels
// (<prefix>.labels) rank `rank` ends with, and its count of names (<prefix>.names).
int extract_shards_worker(const std::vector<std::string>& args) {
  const int rank = std::stoi(args.at(0));
  mae::jobs::RunContext context;
  context.launch = mae::test::loopback_rank(rank, std::stoi(args.at(2)), std::stoi(args.at(1)));
  context.communicator =
      std::make_shared<mae::distributed::Communicator>(context.launch, at::kCPU, std::chrono::seconds(60));
  auto encoder = small_encoder();
  const auto set =
      mae::jobs::extract_features(*encoder, mae::data::shard_source(args.at(3)), small_extraction(1), context);
  mae::io::save_pth(args.at(4) + ".features", set.features);
  mae::io::save_pth(args.at(4) + ".labels", *set.labels);
  mae::io::save_pth(args.at(4) + ".names", at::tensor(static_cast<int64_t>(set.paths.size())));
  return 0;
}

const mae::test::WorkerRegistration extract_shards("extract_shards", extract_shards_worker);

class ShardExtraction : public ::testing::Test {
 protected:
  void SetUp() override {
    mae::test::write_random_images(dir_ / "images" / "a", 4, 11);
    mae::test::write_random_images(dir_ / "images" / "b", 3, 12);
    mae::data::PackOptions pack;
    pack.input = (dir_ / "images").string();
    pack.output = (dir_ / "shards").string();
    pack.samples_per_shard = 2;  // 7 samples in 4 shards: 2, 2, 2, 1
    mae::data::pack_shards(pack);
  }

  // Runs the extract_shards worker as every rank of a `world_size`-rank job; each writes <dir>/<world_size>.<rank>.*.
  void extract_on_ranks(int world_size) {
    ASSERT_EQ(mae::test::run_loopback_job("extract_shards", world_size,
                                          [&](int rank) {
                                            return std::vector<std::string>{
                                                std::to_string(world_size), (dir_ / "shards").string(),
                                                (dir_ / (std::to_string(world_size) + "." + std::to_string(rank)))
                                                    .string()};
                                          },
                                          180),
              std::vector<int>(static_cast<std::size_t>(world_size), 0));
  }

  at::Tensor written(int world_size, int rank, const std::string& what) {
    return mae::io::load_pth((dir_ / (std::to_string(world_size) + "." + std::to_string(rank) + "." + what)).string())
        .toTensor();
  }

  mae::jobs::FeatureSet extract(const mae::data::DataSource& source, int workers) {
    auto encoder = small_encoder();
    return mae::jobs::extract_features(*encoder, source, small_extraction(workers), mae::jobs::RunContext{});
  }

  mae::test::TempDir dir_;
};

TEST_F(ShardExtraction, OneWorkerGivesTheFoldersRowsInOrderAndTwoTheSameRowsByName) {
  const auto folder = extract(mae::data::extraction_source((dir_ / "images").string()), 1);
  const auto shards = extract(mae::data::shard_source((dir_ / "shards").string()), 1);
  ASSERT_EQ(folder.features.size(0), 7);
  EXPECT_TRUE(torch::equal(shards.features, folder.features));
  ASSERT_TRUE(shards.labels && folder.labels);
  EXPECT_TRUE(torch::equal(*shards.labels, *folder.labels));
  EXPECT_EQ(shards.classes, folder.classes);
  ASSERT_EQ(shards.paths.size(), 7u);
  EXPECT_EQ(shards.paths[2], (dir_ / "shards" / "shard-000001.tar").string() + ":000000002");

  const auto two_workers = extract(mae::data::shard_source((dir_ / "shards").string()), 2);
  ASSERT_EQ(two_workers.paths.size(), 7u);
  EXPECT_NE(two_workers.paths, shards.paths);  // worker 1's shards interleave with worker 0's
  for (std::size_t row = 0; row < 7; ++row) {
    const auto same =
        std::find(shards.paths.begin(), shards.paths.end(), two_workers.paths[row]) - shards.paths.begin();
    ASSERT_LT(same, 7) << two_workers.paths[row];
    EXPECT_TRUE(torch::equal(two_workers.features[static_cast<int64_t>(row)], shards.features[same]));
    EXPECT_EQ((*two_workers.labels)[static_cast<int64_t>(row)].item<int64_t>(), (*shards.labels)[same].item<int64_t>());
  }
}

TEST_F(ShardExtraction, TwoRanksEndWithEveryRowRankZerosShardsFirst) {
  const auto one = extract(mae::data::shard_source((dir_ / "shards").string()), 1);
  extract_on_ranks(kWorldSize);
  // Rank 0 reads shards 0 and 2 (samples 0, 1, 4, 5), rank 1 shards 1 and 3 (samples 2, 3, 6).
  const at::Tensor order = at::tensor(std::vector<int64_t>{0, 1, 4, 5, 2, 3, 6}, at::kLong);
  for (int rank = 0; rank < kWorldSize; ++rank) {
    EXPECT_TRUE(torch::equal(written(kWorldSize, rank, "features"), one.features.index_select(0, order)))
        << "rank " << rank;
    EXPECT_TRUE(torch::equal(written(kWorldSize, rank, "labels"), one.labels->index_select(0, order)))
        << "rank " << rank;
    EXPECT_EQ(written(kWorldSize, rank, "names").item<int64_t>(), 0) << "no rank has every name";
  }
}

// torchrun joins a process group even for one process: its extraction is the one-process one, names included, so
// that mae_extract writes a paths file that fits its features.
TEST_F(ShardExtraction, OneRankUnderALauncherKeepsTheNames) {
  const auto one = extract(mae::data::shard_source((dir_ / "shards").string()), 1);
  extract_on_ranks(1);
  EXPECT_TRUE(torch::equal(written(1, 0, "features"), one.features));
  EXPECT_TRUE(torch::equal(written(1, 0, "labels"), *one.labels));
  EXPECT_EQ(written(1, 0, "names").item<int64_t>(), 7);
}

}  // namespace
