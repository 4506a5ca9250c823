// data::DataSource: where --data_path's images are (one decider for folders and shards), what each reader finds there,
// and that open_batches gives the loader that reads it.
#include <gtest/gtest.h>

#include <fstream>

#include "mae/data/augment/pipelines.h"
#include "mae/data/data_source.h"
#include "mae/data/shards/shard_packer.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

// Labelled images in <dir>/images/{train,val}/{a,b}, packed into <dir>/shards/{train,val} (2 samples a shard).
void write_and_pack(const mae::test::TempDir& dir) {
  for (const std::string split : {"train", "val"}) {
    mae::test::write_random_images(dir / "images" / split / "a", 3, split == "train" ? 1 : 2);
    mae::test::write_random_images(dir / "images" / split / "b", 2, split == "train" ? 3 : 4);
  }
  mae::data::PackOptions pack;
  pack.input = (dir / "images").string();
  pack.output = (dir / "shards").string();
  pack.samples_per_shard = 2;
  mae::data::pack_shards(pack);
}

TEST(DataSource, EachReaderFindsFoldersOrShardsAndTheirClasses) {
  mae::test::TempDir dir;
  write_and_pack(dir);
  EXPECT_FALSE(mae::data::shards_at((dir / "images").string()));
  EXPECT_EQ(mae::data::shards_at((dir / "shards").string(), "train"), (dir / "shards" / "train").string());

  const auto folder = mae::data::pretraining_source((dir / "images").string());
  EXPECT_FALSE(folder.from_shards());
  EXPECT_EQ(folder.size(), 5);  // <data_path>/train, unlabelled
  const auto shards = mae::data::pretraining_source((dir / "shards").string());
  ASSERT_TRUE(shards.from_shards());
  EXPECT_EQ(shards.shards.size(), 3u);
  EXPECT_EQ(shards.size(), 5);  // from index.json

  for (const auto& root : {dir / "images", dir / "shards"}) {
    const auto sources = mae::data::classification_sources(root.string());
    EXPECT_EQ(sources.train.classes(), (std::vector<std::string>{"a", "b"})) << root;
    EXPECT_EQ(sources.val.size(), 5) << root;
  }
  const auto extraction = mae::data::extraction_source((dir / "shards" / "val").string());
  EXPECT_TRUE(extraction.from_shards());
  EXPECT_EQ(extraction.classes(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(mae::data::extraction_source((dir / "images" / "val" / "a").string()).classes().size(), 0u);
}

TEST(DataSource, OpenBatchesReadsFolderAndShardsAlikeAndNamesTheSamples) {
  mae::test::TempDir dir;
  write_and_pack(dir);
  mae::data::LoaderOptions options;
  options.batch_size = 2;
  options.num_workers = 1;
  options.shuffle = false;
  options.drop_last = false;  // evaluation: every image once, in order
  std::vector<std::vector<std::string>> names(2);
  std::vector<at::Tensor> images(2);
  const auto sources = {mae::data::extraction_source((dir / "images" / "val").string()),
                        mae::data::extraction_source((dir / "shards" / "val").string())};
  int which = 0;
  for (const auto& source : sources) {
    const auto loader = mae::data::open_batches(source, mae::data::eval_transform(16), options);
    loader->start_epoch(0);
    std::vector<at::Tensor> read;
    while (auto batch = loader->next()) {
      ASSERT_EQ(batch->names.size(), static_cast<std::size_t>(batch->images.size(0)));
      names[which].insert(names[which].end(), batch->names.begin(), batch->names.end());
      read.push_back(batch->images);
    }
    images[which++] = at::cat(read);
  }
  EXPECT_TRUE(at::equal(images[0], images[1]));  // the shards hold the folder's images in its order
  ASSERT_EQ(names[1].size(), 5u);
  EXPECT_EQ(names[0][0], (dir / "images" / "val" / "a" / "0.png").string());
  EXPECT_EQ(names[1][0], (dir / "shards" / "val" / "val-000000.tar").string() + ":000000000");
}

// Training with --samples_per_epoch reads no index.json, so a stale or broken one does not stop it; every other
// reader needs it and names it.
TEST(DataSource, AnIndexIsReadOnlyWhereItIsNeeded) {
  mae::test::TempDir dir;
  write_and_pack(dir);
  std::ofstream(dir / "shards" / "train" / "index.json") << "{ not json";
  const auto source = mae::data::pretraining_source((dir / "shards").string(), /*with_index=*/false);
  EXPECT_TRUE(source.from_shards());
  EXPECT_FALSE(source.index);
  const std::string message = mae::test::error_of<mae::UsageError>(
      [&] { mae::data::pretraining_source((dir / "shards").string()); });
  EXPECT_NE(message.find("index.json' is malformed"), std::string::npos) << message;
}

TEST(DataSource, ClassificationNeedsBothSplitsInOneForm) {
  mae::test::TempDir dir;
  write_and_pack(dir);
  fs::rename(dir / "images" / "val", dir / "shards" / "val_folder");
  fs::rename(dir / "shards" / "val", dir / "val_shards");
  fs::rename(dir / "shards" / "val_folder", dir / "shards" / "val");  // train/ shards, val/ an image folder
  const std::string message =
      mae::test::error_of<mae::UsageError>([&] { mae::data::classification_sources((dir / "shards").string()); });
  EXPECT_NE(message.find("train/ holds shards and val/ does not"), std::string::npos) << message;
}

}  // namespace
