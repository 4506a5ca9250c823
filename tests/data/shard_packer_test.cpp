#include "mae/data/shards/shard_packer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "mae/data/folder/image_folder.h"
#include "mae/data/image/image_io.h"
#include "mae/data/augment/resample.h"
#include "mae/data/shards/shard_source.h"
#include "mae/data/shards/tar_samples.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using mae::data::EncodedImage;
using mae::data::ImageFolder;
using mae::data::PackOptions;
using mae::data::PackProgress;
using mae::data::PackSummary;
using mae::data::TarSample;

std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// A colour image of `rows` x `cols` (BGR for imwrite): smooth gradients, so that a JPEG of it stays close.
cv::Mat gradient(int rows, int cols, int seed) {
  cv::Mat image(rows, cols, CV_8UC3);
  for (int y = 0; y < rows; ++y) {
    for (int x = 0; x < cols; ++x) {
      image.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(200 - seed), static_cast<uint8_t>(30 + 4 * y),
                                            static_cast<uint8_t>(10 + 5 * x));
    }
  }
  return image;
}

// train/: a_cat 3 (png), b_dog 4 (png, and a .JPEG in a subfolder), c_fox 3 (png, a .bmp); val/: 1, 2, 1 images.
void make_tree(const fs::path& root) {
  mae::test::write_random_images(root / "train/a_cat", 3, 1);
  mae::test::write_random_images(root / "train/b_dog", 3, 2);
  fs::create_directories(root / "train/b_dog/deep");
  ASSERT_TRUE(cv::imwrite((root / "train/b_dog/deep/photo.JPEG").string(), gradient(24, 32, 0)));
  mae::test::write_random_images(root / "train/c_fox", 2, 3);
  ASSERT_TRUE(cv::imwrite((root / "train/c_fox/scan.bmp").string(), gradient(16, 18, 1)));
  mae::test::write_random_images(root / "val/a_cat", 1, 4);
  mae::test::write_random_images(root / "val/b_dog", 2, 5);
  mae::test::write_random_images(root / "val/c_fox", 1, 6);
}

struct ReadShards {
  nlohmann::json index;
  std::vector<TarSample> samples;
  std::vector<int64_t> counts;  // per shard, in index order
};

// The split's index.json and every sample of its shards, in index order, as a training job reads them.
ReadShards read_split(const fs::path& folder) {
  ReadShards read;
  read.index = nlohmann::json::parse(bytes_of(folder / "index.json"));
  for (const auto& shard : read.index["shards"]) {
    mae::data::ShardSource source((folder / shard["name"].get<std::string>()).string());
    mae::data::TarSampleReader reader(source, {.strict = true});
    int64_t count = 0;
    while (auto sample = reader.next()) {
      read.samples.push_back(std::move(*sample));
      ++count;
    }
    read.counts.push_back(count);
  }
  return read;
}

std::set<std::string> files_in(const fs::path& folder) {
  std::set<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (entry.is_regular_file()) {
      names.insert(fs::relative(entry.path(), folder).string());
    }
  }
  return names;
}

std::string key(int index) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%09d", index);
  return buffer;
}

PackOptions options_for(const fs::path& input, const fs::path& output) {
  PackOptions options;
  options.input = input.string();
  options.output = output.string();
  return options;
}

TEST(ShardPacker, SplitsRoundTripThroughTheShardReader) {
  mae::test::TempDir dir;
  ASSERT_NO_FATAL_FAILURE(make_tree(dir / "in"));
  PackOptions options = options_for(dir / "in", dir / "out");
  options.samples_per_shard = 3;
  const PackSummary summary = mae::data::pack_shards(options);
  ASSERT_EQ(summary.splits.size(), 2u);

  for (const auto& split : summary.splits) {
    SCOPED_TRACE(split.name);
    const fs::path folder = dir / "out" / split.name;
    const ImageFolder source = ImageFolder::with_classes((dir / "in" / split.name).string());
    const ReadShards read = read_split(folder);
    EXPECT_EQ(split.prefix, split.name);
    EXPECT_EQ(split.folder, folder.string());
    EXPECT_EQ(split.classes, (std::vector<std::string>{"a_cat", "b_dog", "c_fox"}));

    ASSERT_EQ(read.samples.size(), source.size());
    for (std::size_t i = 0; i < source.size(); ++i) {
      const auto& sample = read.samples[i];
      const std::string& path = source.samples()[i].path;
      SCOPED_TRACE(path);
      EXPECT_EQ(sample.key, key(static_cast<int>(i)));
      ASSERT_TRUE(sample.label.has_value());
      EXPECT_EQ(*sample.label, source.samples()[i].label);
      if (fs::path(path).extension() == ".bmp") {  // not a shard format: lossless PNG of the same pixels
        EXPECT_EQ(sample.image_extension, "png");
        const cv::Mat packed = EncodedImage::from_bytes(sample.image, "packed").decode();
        const cv::Mat original = mae::data::read_rgb_image(path);
        ASSERT_EQ(packed.size(), original.size());
        EXPECT_EQ(cv::norm(packed, original, cv::NORM_INF), 0.0);
      } else {
        EXPECT_EQ(sample.image_extension, fs::path(path).extension() == ".JPEG" ? "jpeg" : "png");
        EXPECT_EQ(std::string(sample.image.begin(), sample.image.end()), bytes_of(path));
      }
    }

    // The index matches the shards on disk, and nothing else is there.
    EXPECT_EQ(read.index["format"], "mae-cpp shards 1");
    EXPECT_EQ(read.index["classes"], nlohmann::json({"a_cat", "b_dog", "c_fox"}));
    EXPECT_EQ(read.index["samples"], source.size());
    std::set<std::string> expected_files{"index.json"};
    ASSERT_EQ(read.index["shards"].size(), split.shards.size());
    for (std::size_t s = 0; s < split.shards.size(); ++s) {
      char name[64];
      std::snprintf(name, sizeof name, "%s-%06zu.tar", split.name.c_str(), s);
      EXPECT_EQ(read.index["shards"][s]["name"], name);
      EXPECT_EQ(read.index["shards"][s]["samples"], read.counts[s]);
      EXPECT_EQ(split.shards[s].name, name);
      EXPECT_EQ(split.shards[s].samples, read.counts[s]);
      EXPECT_EQ(split.shards[s].bytes, fs::file_size(folder / name));
      EXPECT_EQ(split.shards[s].bytes % 10240, 0u);
      expected_files.insert(name);
    }
    EXPECT_EQ(files_in(folder), expected_files);
    EXPECT_EQ(split.samples, static_cast<int64_t>(source.size()));
    EXPECT_TRUE(split.skipped.empty());
  }
  // 10 training images at 3 per shard; 4 validation images.
  EXPECT_EQ(read_split(dir / "out/train").counts, (std::vector<int64_t>{3, 3, 3, 1}));
  EXPECT_EQ(read_split(dir / "out/val").counts, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(files_in(dir / "out"),
            (std::set<std::string>{"train/index.json", "train/train-000000.tar", "train/train-000001.tar",
                                   "train/train-000002.tar", "train/train-000003.tar", "val/index.json",
                                   "val/val-000000.tar", "val/val-000001.tar"}));

  // GNU tar reads the shards too, members in WebDataset's order (per sample: .cls, then the image).
  const auto listing =
      mae::test::run_command("tar -tf " + mae::test::shell_quote((dir / "out/val/val-000000.tar").string()));
  EXPECT_EQ(listing.exit_code, 0) << listing.output;
  EXPECT_EQ(listing.output,
            "000000000.cls\n000000000.png\n000000001.cls\n000000001.png\n000000002.cls\n"
            "000000002.png\n");
  EXPECT_EQ(bytes_of(dir / "out/train/train-000003.tar").substr(0, 13), "000000009.cls");
  EXPECT_EQ(mae::test::run_command("tar -xOf " + mae::test::shell_quote((dir / "out/train/train-000003.tar").string()) +
                                   " 000000009.cls")
                .output,
            "2");  // scan.bmp, the last image of c_fox
}

TEST(ShardPacker, AFlatFolderIsPackedUnlabelledAndTheSizeLimitClosesShards) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "in", 10, 7);
  // Each sample: a 512-byte header and the PNG padded to 512 bytes; no .cls without labels.
  for (int i = 0; i < 10; ++i) {
    const auto size = fs::file_size(dir / "in" / (std::to_string(i) + ".png"));
    ASSERT_GT(size, 1024u);
    ASSERT_LE(size, 1536u);  // so 2048 tar bytes per sample
  }
  PackOptions options = options_for(dir / "in", dir / "out");
  options.shard_size_mb = 4000.0 / (1024 * 1024);  // 4000 bytes: closes after 2 samples (4096 >= 4000)
  const PackSummary summary = mae::data::pack_shards(options);
  ASSERT_EQ(summary.splits.size(), 1u);
  const auto& split = summary.splits[0];
  EXPECT_EQ(split.name, "");
  EXPECT_EQ(split.prefix, "shard");
  EXPECT_TRUE(split.classes.empty());
  const ReadShards read = read_split(dir / "out");
  EXPECT_EQ(read.counts, (std::vector<int64_t>{2, 2, 2, 2, 2}));
  EXPECT_EQ(read.index["classes"], nlohmann::json::array());
  EXPECT_EQ(read.index["shards"][4]["name"], "shard-000004.tar");
  const ImageFolder source = ImageFolder::without_labels((dir / "in").string());
  ASSERT_EQ(read.samples.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_FALSE(read.samples[i].label.has_value());
    EXPECT_EQ(std::string(read.samples[i].image.begin(), read.samples[i].image.end()),
              bytes_of(source.samples()[i].path));
  }
  for (const auto& shard : split.shards) {
    EXPECT_EQ(shard.bytes, 10240u);  // 2 x 2048 and the end blocks, padded to a 10240-byte record
  }
  EXPECT_EQ(split.bytes, 5u * 10240u);

  // Both limits: the count closes first here (2 samples reach 4096 bytes: size limit 5000 is not reached).
  options.output = (dir / "out2").string();
  options.shard_size_mb = 5000.0 / (1024 * 1024);
  options.samples_per_shard = 2;
  mae::data::pack_shards(options);
  EXPECT_EQ(read_split(dir / "out2").counts, (std::vector<int64_t>{2, 2, 2, 2, 2}));
  // ... and the size: 3 samples (6144 >= 5000) before a count of 4.
  options.output = (dir / "out3").string();
  options.samples_per_shard = 4;
  mae::data::pack_shards(options);
  EXPECT_EQ(read_split(dir / "out3").counts, (std::vector<int64_t>{3, 3, 3, 1}));
  // Exactly at the limit closes the shard (ShardWriter's size >= maxsize).
  options.output = (dir / "at_limit").string();
  options.shard_size_mb = 4096.0 / (1024 * 1024);
  mae::data::pack_shards(options);
  EXPECT_EQ(read_split(dir / "at_limit").counts, (std::vector<int64_t>{2, 2, 2, 2, 2}));
  options.output = (dir / "out4").string();
  options.samples_per_shard = 0;
  options.shard_size_mb = 1000;
  mae::data::pack_shards(options);
  EXPECT_EQ(read_split(dir / "out4").counts, (std::vector<int64_t>{10}));
}

TEST(ShardPacker, OutputIsByteIdenticalWhateverTheThreads) {
  mae::test::TempDir dir;
  ASSERT_NO_FATAL_FAILURE(make_tree(dir / "in"));
  mae::test::write_random_images(dir / "in/train/b_dog/more", 20, 8);
  for (const int quality : {0, 80}) {
    SCOPED_TRACE(quality);
    std::vector<std::map<std::string, std::string>> runs;
    for (const int threads : {1, 2, 5, 2}) {
      const fs::path out = dir / ("out_" + std::to_string(quality) + "_" + std::to_string(runs.size()));
      PackOptions options = options_for(dir / "in", out);
      options.samples_per_shard = 4;
      options.threads = threads;
      options.jpeg_quality = quality;
      mae::data::pack_shards(options);
      std::map<std::string, std::string> files;
      for (const auto& name : files_in(out)) {
        files[name] = bytes_of(out / name);
      }
      runs.push_back(files);
    }
    EXPECT_EQ(runs[0].size(), 11u);  // train: 30 images in 8 shards, val: 1 shard, 2 indexes
    for (std::size_t run = 1; run < runs.size(); ++run) {
      EXPECT_TRUE(runs[run] == runs[0]) << "run " << run << " differs";
    }
  }
}

TEST(ShardPacker, ReEncodingResizesTheShorterSideAndWritesJpegs) {
  mae::test::TempDir dir;
  const fs::path in = dir / "in/train/k";
  fs::create_directories(in);
  const std::vector<cv::Mat> images{gradient(20, 30, 0), gradient(40, 20, 1), gradient(10, 16, 2)};
  ASSERT_TRUE(cv::imwrite((in / "0.png").string(), images[0]));
  ASSERT_TRUE(cv::imwrite((in / "1.jpg").string(), images[1], {cv::IMWRITE_JPEG_QUALITY, 100}));
  ASSERT_TRUE(cv::imwrite((in / "2.png").string(), images[2]));

  PackOptions options = options_for(dir / "in", dir / "resized");
  options.resize = 12;
  mae::data::pack_shards(options);
  ReadShards read = read_split(dir / "resized/train");
  ASSERT_EQ(read.samples.size(), 3u);
  // 20x30 -> 12x18 and 40x20 -> 24x12 as JPEG quality 95; 10x16 is not enlarged and keeps its bytes.
  const std::vector<cv::Size> sizes{{18, 12}, {12, 24}, {16, 10}};
  for (int i = 0; i < 3; ++i) {
    const auto& sample = read.samples[i];
    EXPECT_EQ(sample.image_extension, i < 2 ? "jpg" : "png");
    const cv::Mat packed = EncodedImage::from_bytes(sample.image, "packed").decode();
    EXPECT_EQ(packed.size(), sizes[i]);
    // PIL's bicubic of the decoded original, in RGB order, up to the JPEG's loss.
    const cv::Mat original =
        mae::data::read_rgb_image((in / (std::to_string(i) + (i == 1 ? ".jpg" : ".png"))).string());
    const cv::Mat expected = mae::data::resize_bicubic(original, sizes[i].width, sizes[i].height);
    EXPECT_LT(cv::norm(packed, expected, cv::NORM_L1) / static_cast<double>(packed.total() * 3), 3.0) << i;
  }
  EXPECT_EQ(std::string(read.samples[2].image.begin(), read.samples[2].image.end()), bytes_of(in / "2.png"));
  EXPECT_EQ(read.samples[0].image[0], 0xFF);
  EXPECT_EQ(read.samples[0].image[1], 0xD8);

  // A quality alone re-encodes every image at its size; a lower quality gives fewer bytes.
  options.output = (dir / "q90").string();
  options.resize = 0;
  options.jpeg_quality = 90;
  mae::data::pack_shards(options);
  options.output = (dir / "q20").string();
  options.jpeg_quality = 20;
  mae::data::pack_shards(options);
  const ReadShards q90 = read_split(dir / "q90/train");
  const ReadShards q20 = read_split(dir / "q20/train");
  ASSERT_EQ(q90.samples.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(q90.samples[i].image_extension, "jpg");
    EXPECT_EQ(EncodedImage::from_bytes(q90.samples[i].image, "q90").decode().size(),
              cv::Size(images[i].cols, images[i].rows));
    EXPECT_LT(q20.samples[i].image.size(), q90.samples[i].image.size());
    EXPECT_EQ(*q90.samples[i].label, 0);
  }
}

TEST(ShardPacker, UndecodableImagesAreSkippedOrAnErrorUnderStrictData) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "in/train/a", 4, 9);
  write_bytes(dir / "in/train/a/1.png", "not a png at all");
  write_bytes(dir / "in/train/b/empty.jpg", "");
  mae::test::write_random_images(dir / "in/train/b", 2, 10);

  PackOptions options = options_for(dir / "in", dir / "out");
  options.samples_per_shard = 2;
  std::vector<PackProgress> reports;
  const PackSummary summary = mae::data::pack_shards(options, [&](const PackProgress& p) { reports.push_back(p); });
  const auto& split = summary.splits.at(0);
  ASSERT_EQ(split.skipped.size(), 2u);
  EXPECT_NE(split.skipped[0].find((dir / "in/train/a/1.png").string()), std::string::npos) << split.skipped[0];
  EXPECT_NE(split.skipped[1].find((dir / "in/train/b/empty.jpg").string()), std::string::npos) << split.skipped[1];
  EXPECT_EQ(split.samples, 5);
  const ReadShards read = read_split(dir / "out/train");
  EXPECT_EQ(read.index["samples"], 5);
  EXPECT_EQ(read.counts, (std::vector<int64_t>{2, 2, 1}));
  // Folder order: a/0 a/1 a/2 a/3 b/0 b/1 b/empty; keys keep the folder positions.
  std::vector<std::string> keys;
  std::vector<int64_t> labels;
  for (const auto& sample : read.samples) {
    keys.push_back(sample.key);
    labels.push_back(*sample.label);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{key(0), key(2), key(3), key(4), key(5)}));
  EXPECT_EQ(labels, (std::vector<int64_t>{0, 0, 0, 1, 1}));
  ASSERT_FALSE(reports.empty());
  EXPECT_LE(reports.size(), 2u);  // at most about once a second, and at the end
  EXPECT_EQ(reports.back().done, 7);
  EXPECT_EQ(reports.back().total, 7);
  EXPECT_EQ(reports.back().skipped, 2);
  EXPECT_EQ(reports.back().shards, 3);
  EXPECT_EQ(reports.back().bytes, split.bytes);
  EXPECT_EQ(reports.back().split, "train");
  EXPECT_EQ(reports.back().eta_seconds, 0.0);

  // strict_data: an error naming the image; the shards before it are whole, no temporary file stays, no index.
  options.output = (dir / "strict").string();
  options.strict_data = true;
  const std::string message = mae::test::error_of<mae::IoError>([&] { mae::data::pack_shards(options); });
  EXPECT_NE(message.find((dir / "in/train/a/1.png").string()), std::string::npos) << message;
  EXPECT_NE(message.find("--strict_data"), std::string::npos) << message;
  EXPECT_EQ(files_in(dir / "strict"), std::set<std::string>{});  // the first shard was still open

  // Nothing decodable at all: an error, even without strict_data.
  write_bytes(dir / "bad/x.png", "garbage");
  const std::string nothing =
      mae::test::error_of<mae::IoError>([&] { mae::data::pack_shards(options_for(dir / "bad", dir / "bad_out")); });
  EXPECT_NE(nothing.find("no image under"), std::string::npos) << nothing;
  EXPECT_EQ(files_in(dir / "bad_out"), std::set<std::string>{});
}

TEST(ShardPacker, AFailingRunLeavesOnlyWholeShards) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "in/train/a", 5, 11);
  write_bytes(dir / "in/train/b/0.png", "broken");
  PackOptions options = options_for(dir / "in", dir / "out");
  options.samples_per_shard = 2;
  options.strict_data = true;
  mae::test::error_of<mae::IoError>([&] { mae::data::pack_shards(options); });
  // Shards 0 and 1 were closed before b/0.png; shard 2 (a/4) was open: removed, and no index.
  EXPECT_EQ(files_in(dir / "out"), (std::set<std::string>{"train/train-000000.tar", "train/train-000001.tar"}));
  mae::data::ShardSource source((dir / "out/train/train-000001.tar").string());
  mae::data::TarSampleReader reader(source, {.strict = true});
  EXPECT_EQ(reader.next()->key, key(2));
  EXPECT_EQ(reader.next()->key, key(3));
  EXPECT_FALSE(reader.next().has_value());
}

TEST(ShardPacker, BadArgumentsAreNamed) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "in/train/a", 2, 12);
  const auto usage = [&](PackOptions options) {
    return mae::test::error_of<mae::UsageError>([&] { mae::data::pack_shards(options); });
  };
  EXPECT_NE(usage(options_for(dir / "missing", dir / "out")).find((dir / "missing").string() + "' does not exist"),
            std::string::npos);
  EXPECT_NE(usage(options_for(dir / "in", dir / "in/train/shards")).find("inside the input folder"), std::string::npos);
  EXPECT_NE(usage(options_for(dir / "in", dir / "in")).find("inside the input folder"), std::string::npos);
  PackOptions bad = options_for(dir / "in", dir / "out");
  bad.shard_size_mb = 0;
  EXPECT_NE(usage(bad).find("--shard_size_mb"), std::string::npos);
  bad = options_for(dir / "in", dir / "out");
  bad.jpeg_quality = 101;
  EXPECT_NE(usage(bad).find("--jpeg_quality"), std::string::npos);
  bad = options_for(dir / "in", dir / "out");
  bad.threads = 0;
  EXPECT_NE(usage(bad).find("--threads"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "out"));

  // An output under a regular file cannot be created.
  write_bytes(dir / "file", "x");
  const std::string io =
      mae::test::error_of<mae::IoError>([&] { mae::data::pack_shards(options_for(dir / "in", dir / "file/out")); });
  EXPECT_NE(io.find((dir / "file/out").string()), std::string::npos) << io;

  // A second run into the same folder refuses to overwrite it.
  mae::data::pack_shards(options_for(dir / "in", dir / "out"));
  const std::string again = usage(options_for(dir / "in", dir / "out"));
  EXPECT_NE(again.find((dir / "out/train").string() + "' already holds shards"), std::string::npos) << again;
  EXPECT_NE(again.find("--output_dir"), std::string::npos) << again;
}

TEST(ShardPacker, DescribeGivesAProgressLine) {
  PackProgress progress;
  progress.split = "train";
  progress.done = 1200;
  progress.total = 4500;
  progress.shards = 3;
  progress.bytes = static_cast<uint64_t>(41.2 * 1024 * 1024);
  progress.elapsed_seconds = 1200 / 350.0;
  progress.eta_seconds = 3300 / 350.0;
  EXPECT_EQ(mae::data::describe(progress), "train: 1200/4500 images, 3 shards, 41.2 MiB, 350 img/s, eta 0:00:09");
  progress.skipped = 2;
  progress.shards = 1;
  progress.eta_seconds = 3725;
  EXPECT_EQ(mae::data::describe(progress),
            "train: 1200/4500 images, 2 skipped, 1 shard, 41.2 MiB, 350 img/s, eta 1:02:05");
  progress.done = 0;
  progress.elapsed_seconds = 0;
  progress.eta_seconds = -1;
  EXPECT_EQ(mae::data::describe(progress), "train: 0/4500 images, 2 skipped, 1 shard, 41.2 MiB, 0 img/s, eta ?");
}

}  // namespace
