// mae_extract end to end: the features it writes are the MAE encoder's own for an official-format checkpoint (a bare
// {'model': ...} that records no settings), in both poolings; two ranks write the same file as one; the kNN
// classifier on two files; shards give the features of the folder they were packed from; bad input named; a features
// file and its paths file change together or are refused as a pair; labels and features the kNN cannot rank named.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "mae/config/tool_configs.h"
#include "mae/data/folder/image_folder.h"
#include "mae/data/image/image_io.h"
#include "mae/data/augment/pipelines.h"
#include "mae/data/shards/shard_packer.h"
#include "mae/engine/checkpoint.h"
#include "mae/io/safetensors.h"
#include "mae/jobs/extract.h"
#include "mae/jobs/feature_file.h"
#include "mae/models/mae.h"
#include "mae/models/state_dict.h"
#include "support/loopback_job.h"
#include "support/test_support.h"

namespace {

using mae::test::run_command;
using mae::test::shell_quote;

// tests/fixtures/models/mae_tiny.pth: written by scripts/reference/make_model_fixtures.py with the official models_mae,
// as the released files are: its weights under 'model' and no 'args' (32 px, patch 8, width 32, 2 blocks, 4 heads).
std::string tiny_checkpoint() { return (mae::test::source_dir() / "tests/fixtures/models/mae_tiny.pth").string(); }

// Two class folders of random 20x20 images.
void write_labelled_images(const std::filesystem::path& root, int per_class, int seed) {
  mae::test::write_random_images(root / "cat", per_class, seed);
  mae::test::write_random_images(root / "dog", per_class, seed + 1);
}

std::string extract(const std::string& args) {
  return "OMP_NUM_THREADS=1 " + mae::test::app("mae_extract") + " --device cpu --num_heads 4 --num_workers 1 " +
         "--batch_size 4 --checkpoint " + shell_quote(tiny_checkpoint()) + " " + args;
}

std::map<std::string, at::Tensor> tensors_of(const std::filesystem::path& path) {
  std::map<std::string, at::Tensor> tensors;
  for (const auto& [name, tensor] : mae::io::load_safetensors(path.string()).tensors) {
    tensors[name] = tensor;
  }
  return tensors;
}

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

// What the official MAE computes for each image after the evaluation transform: forward_encoder with nothing masked
// (increasing noise keeps the patches in place), the class token or the mean of the patch tokens of its latent.
at::Tensor encoder_features(const std::vector<std::string>& paths, bool mean) {
  mae::models::MaeOptions options;
  options.encoder = {32, 8, 3, 32, 2, 4, 4.0};
  options.decoder_embed_dim = 16;
  options.decoder_depth = 2;
  options.decoder_num_heads = 2;
  mae::models::MaskedAutoencoderViT model(options);
  mae::models::load_state_dict(*model, mae::engine::load_model_weights(tiny_checkpoint()), /*strict=*/true);
  model->eval();
  const auto transform = mae::data::eval_transform(32);
  std::vector<at::Tensor> images;
  for (const auto& path : paths) {
    mae::data::Rng rng(0, 0, 0);
    images.push_back(transform(mae::data::EncodedImage::open(path), rng));
  }
  const torch::NoGradGuard no_grad;
  const auto imgs = torch::stack(images);
  const auto noise = torch::arange(16, torch::kFloat).expand({imgs.size(0), 16}).contiguous();
  const auto latent = model->forward_encoder(imgs, 0.0, noise).latent;
  return mean ? latent.slice(1, 1).mean(1) : latent.select(1, 0);
}

TEST(Extract, FeaturesOfAReleasedCheckpointAreItsEncodersInBothPoolings) {
  mae::test::TempDir dir;
  write_labelled_images(dir / "data", 5, 11);
  const auto folder = mae::data::ImageFolder::with_classes((dir / "data").string());
  std::vector<std::string> paths;
  for (const auto& sample : folder.samples()) {
    paths.push_back(sample.path);
  }
  for (const std::string pool : {"cls", "mean"}) {
    SCOPED_TRACE(pool);
    const auto out = dir / (pool + ".safetensors");
    // In fp32, as the features it is compared with (--amp auto would be bf16 on a CPU with native bf16).
    const auto result = run_command(extract("--amp off --pool " + pool + " --data_path " +
                                            shell_quote((dir / "data").string()) + " --output " +
                                            shell_quote(out.string())));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("records no settings"), std::string::npos) << result.output;
    const auto file = tensors_of(out);
    const auto expected = encoder_features(paths, pool == "mean");
    ASSERT_EQ(file.at("features").sizes(), expected.sizes());
    EXPECT_TRUE(torch::allclose(file.at("features"), expected, 1e-5, 1e-5))
        << (file.at("features") - expected).abs().max().item<double>();
    EXPECT_TRUE(torch::equal(file.at("labels"), torch::tensor({0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, torch::kLong)));
    EXPECT_EQ(lines_of(dir / (pool + ".paths.txt")), paths);
    const auto metadata = mae::io::load_safetensors(out.string()).metadata;
    EXPECT_EQ(metadata.at("classes"), R"(["cat","dog"])");
    EXPECT_EQ(metadata.at("pool"), pool);
  }
  // --fp16 stores the same (fp32-computed) features rounded to half precision.
  const auto half = dir / "half.safetensors";
  ASSERT_EQ(run_command(extract("--amp off --fp16 --data_path " + shell_quote((dir / "data").string()) + " --output " +
                                shell_quote(half.string())))
                .exit_code,
            0);
  const auto halves = tensors_of(half).at("features");
  EXPECT_EQ(halves.scalar_type(), torch::kHalf);
  EXPECT_TRUE(torch::equal(halves, tensors_of(dir / "cls.safetensors").at("features").to(torch::kHalf)));
}

TEST(Extract, ShardsGiveTheFeaturesOfTheFolderTheyWerePackedFrom) {
  mae::test::TempDir dir;
  write_labelled_images(dir / "data", 4, 13);
  mae::data::PackOptions pack;
  pack.input = (dir / "data").string();
  pack.output = (dir / "shards").string();
  pack.samples_per_shard = 3;  // 8 samples in 3 shards
  mae::data::pack_shards(pack);
  for (const auto& [data, out] : {std::pair{dir / "data", dir / "folder.safetensors"},
                                  std::pair{dir / "shards", dir / "shards.safetensors"}}) {
    const auto result = run_command(extract("--data_path " + shell_quote(data.string()) + " --output " +
                                            shell_quote(out.string())));
    ASSERT_EQ(result.exit_code, 0) << result.output;
  }
  const auto folder = tensors_of(dir / "folder.safetensors");
  const auto shards = tensors_of(dir / "shards.safetensors");
  EXPECT_TRUE(torch::equal(shards.at("features"), folder.at("features")));
  EXPECT_TRUE(torch::equal(shards.at("labels"), folder.at("labels")));
  const auto paths = lines_of(dir / "shards.paths.txt");
  ASSERT_EQ(paths.size(), 8u);
  EXPECT_EQ(paths[0], (dir / "shards" / "shard-000000.tar").string() + ":000000000");
  EXPECT_EQ(mae::io::load_safetensors((dir / "shards.safetensors").string()).metadata.at("classes"),
            R"(["cat","dog"])");
}

TEST(Extract, TwoRanksWriteTheSameFileAsOne) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "data", 11, 12);  // an odd count: the second rank's last row is padding
  const auto data = shell_quote((dir / "data").string());
  ASSERT_EQ(run_command(extract("--data_path " + data + " --output " + shell_quote((dir / "one.safetensors").string())))
                .exit_code,
            0);
  const auto result = mae::test::run_two_slurm_ranks(extract("--dist_timeout 60 --data_path " + data + " --output " +
                                                             shell_quote((dir / "two.safetensors").string())));
  ASSERT_NE(result.output.find("exit codes 0 0"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("world size 2"), std::string::npos) << result.output;
  const auto one = tensors_of(dir / "one.safetensors");
  const auto both = tensors_of(dir / "two.safetensors");
  EXPECT_EQ(one.count("labels"), 0u);  // a folder of images: no classes
  ASSERT_EQ(both.at("features").sizes(), one.at("features").sizes());
  EXPECT_TRUE(torch::equal(both.at("features"), one.at("features")))
      << (both.at("features") - one.at("features")).abs().max().item<double>();
  EXPECT_EQ(lines_of(dir / "two.paths.txt"), lines_of(dir / "one.paths.txt"));
}

TEST(Extract, KnnClassifierOnTwoFeatureFiles) {
  mae::test::TempDir dir;
  write_labelled_images(dir / "train", 6, 21);
  write_labelled_images(dir / "val", 3, 23);
  const auto train = shell_quote((dir / "train.safetensors").string());
  const auto val = shell_quote((dir / "val.safetensors").string());
  ASSERT_EQ(run_command(extract("--data_path " + shell_quote((dir / "train").string()) + " --output " + train)).exit_code, 0);
  // Extraction of the test set followed by the classifier against the training file, then the two files alone.
  const auto with_extraction = run_command(extract("--data_path " + shell_quote((dir / "val").string()) + " --output " +
                                                   val + " --knn_train " + train + " --knn_k 5"));
  ASSERT_EQ(with_extraction.exit_code, 0) << with_extraction.output;
  EXPECT_NE(with_extraction.output.find("kNN (k 5, T 0.07): top-1 "), std::string::npos) << with_extraction.output;
  const auto files_only = run_command(mae::test::app("mae_extract") + " --knn_train " + train + " --knn_test " + val +
                                      " --knn_k 5");
  ASSERT_EQ(files_only.exit_code, 0) << files_only.output;
  const auto line = [](const std::string& output) { return output.substr(output.find("kNN (k 5")); };
  EXPECT_EQ(line(files_only.output), line(with_extraction.output));
}

TEST(Extract, BadInputIsNamed) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "data", 2, 31);
  mae::io::save_safetensors((dir / "other.safetensors").string(), {{"conv.weight", torch::zeros({4, 3})}});
  const auto not_a_vit = run_command(mae::test::app("mae_extract") + " --device cpu --checkpoint " +
                                     shell_quote((dir / "other.safetensors").string()) + " --data_path " +
                                     shell_quote((dir / "data").string()) + " --output x.safetensors");
  EXPECT_EQ(not_a_vit.exit_code, 2) << not_a_vit.output;
  EXPECT_NE(not_a_vit.output.find("is not an MAE or ViT checkpoint"), std::string::npos) << not_a_vit.output;
  EXPECT_NE(not_a_vit.output.find("conv.weight"), std::string::npos) << not_a_vit.output;

  std::filesystem::create_directories(dir / "empty");
  const auto no_images = run_command(extract("--data_path " + shell_quote((dir / "empty").string()) + " --output " +
                                             shell_quote((dir / "x.safetensors").string())));
  EXPECT_EQ(no_images.exit_code, 2) << no_images.output;
  EXPECT_NE(no_images.output.find((dir / "empty").string()), std::string::npos) << no_images.output;

  const auto unlabelled = run_command(mae::test::app("mae_extract") + " --knn_train " +
                                      shell_quote((dir / "other.safetensors").string()) + " --knn_test " +
                                      shell_quote((dir / "other.safetensors").string()));
  EXPECT_EQ(unlabelled.exit_code, 2) << unlabelled.output;
  EXPECT_NE(unlabelled.output.find("is not a features file"), std::string::npos) << unlabelled.output;

  const auto nothing = run_command(mae::test::app("mae_extract") + " --device cpu");
  EXPECT_EQ(nothing.exit_code, 2) << nothing.output;
  EXPECT_NE(nothing.output.find("nothing to do"), std::string::npos) << nothing.output;
}

// A labelled set of `rows` rows in two classes, its paths "<prefix>0.png", "<prefix>1.png", ...
mae::jobs::FeatureSet feature_set(int rows, const std::string& prefix) {
  mae::jobs::FeatureSet set;
  set.features = torch::arange(rows * 4, torch::kFloat).view({rows, 4}) + 1;
  set.labels = torch::arange(rows, torch::kLong) % 2;
  set.classes = {"cat", "dog"};
  for (int row = 0; row < rows; ++row) {
    set.paths.push_back(prefix + std::to_string(row) + ".png");
  }
  return set;
}

TEST(Extract, AFailedWriteLeavesTheOldPairIntact) {
  // Today the paths file takes its name before the features file is written: a write that fails there leaves the
  // new paths beside the old features, which read back with paths that are not theirs.
  mae::test::TempDir dir;
  const std::string path = (dir / "x.safetensors").string();
  const auto old_pair = feature_set(2, "old");
  mae::jobs::save_feature_file(path, old_pair, false, {});
  auto failing = feature_set(3, "new");
  failing.labels = torch::zeros({3}, torch::kComplexFloat);  // safetensors has no complex dtype: the features throw
  EXPECT_NE(mae::test::error_of<mae::IoError>([&] { mae::jobs::save_feature_file(path, failing, false, {}); })
                .find("cannot be written to safetensors"),
            std::string::npos);
  const auto kept = mae::jobs::load_feature_file(path);
  EXPECT_EQ(kept.paths, old_pair.paths);
  EXPECT_TRUE(torch::equal(kept.features, old_pair.features));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()), 2)
      << "a temporary file was left";
}

TEST(Extract, APathsFileNotWrittenWithItsFeaturesIsRefusedNamingBoth) {
  // Today the features file is read with whatever paths file lies beside it.
  mae::test::TempDir dir;
  const auto features = (dir / "a.safetensors").string();
  const auto sidecar = (dir / "a.paths.txt").string();
  mae::jobs::save_feature_file(features, feature_set(2, "a"), false, {});
  mae::jobs::save_feature_file((dir / "b.safetensors").string(), feature_set(2, "b"), false, {});
  const std::string both = "'" + sidecar + "' does not belong to '" + features + "'";
  // What a crash between the two renames of a second extraction to a.safetensors leaves: its paths, the old features.
  std::filesystem::copy_file(dir / "b.paths.txt", sidecar, std::filesystem::copy_options::overwrite_existing);
  const std::string swapped = mae::test::error_of<mae::UsageError>([&] { mae::jobs::load_feature_file(features); });
  EXPECT_NE(swapped.find(both + " (its fingerprint"), std::string::npos) << swapped;
  EXPECT_EQ(swapped.find('\n'), std::string::npos) << swapped;
  std::ofstream(sidecar) << "a0.png\na1.png\na2.png\n";
  const std::string longer = mae::test::error_of<mae::UsageError>([&] { mae::jobs::load_feature_file(features); });
  EXPECT_NE(longer.find(both + " (3 paths for 2 feature rows)"), std::string::npos) << longer;
}

TEST(Extract, KnnNamesTheFileOfLabelsAndFeaturesItCannotRank) {
  // Today a label 2.5 read from a file became class 2, a label 2 of two classes made a third class, and a nan
  // feature voted as nan: all silently.
  mae::test::TempDir dir;
  const auto good = (dir / "good.safetensors").string();
  const auto bad = (dir / "bad.safetensors").string();
  mae::jobs::save_feature_file(good, feature_set(3, "g"), false, {});
  mae::config::ExtractConfig config;
  config.knn_train = good;
  config.knn_test = bad;
  config.knn_k = 2;
  const auto error_with = [&](const mae::jobs::FeatureSet& set) {
    mae::jobs::save_feature_file(bad, set, false, {});
    return mae::test::error_of<mae::UsageError>([&] { mae::jobs::run_extract(config); });
  };
  auto set = feature_set(3, "b");
  set.labels = torch::tensor({0.0f, 2.5f, 1.0f});  // the file format allows float labels
  std::string error = error_with(set);
  EXPECT_NE(error.find("label 2.5 in row 1 of '" + bad + "' is not a class number"), std::string::npos) << error;
  set.labels = torch::tensor({0, 2, 1}, torch::kLong);  // the files' classes are cat and dog
  error = error_with(set);
  EXPECT_NE(error.find("label 2 in row 1 of '" + bad + "' is not a class number of [0, 2)"), std::string::npos)
      << error;
  set = feature_set(3, "b");
  set.features[2][1] = std::numeric_limits<float>::quiet_NaN();
  error = error_with(set);
  EXPECT_NE(error.find("row 2 of '" + bad + "' has a non-finite feature (nan in column 1)"), std::string::npos)
      << error;
}

}  // namespace
