// Decompression bombs: sizes read from headers alone, images over --max_image_pixels refused before any decoder sees
// them, and the refusal counted and named like any unreadable image by the loaders and the packer.
#include "mae/data/image/image_header.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "mae/config/job_config.h"
#include "mae/config/tool_configs.h"
#include "mae/data/folder/image_folder.h"
#include "mae/data/image/image_io.h"
#include "mae/data/folder/loader.h"
#include "mae/data/shards/shard_list.h"
#include "mae/data/shards/shard_loader.h"
#include "mae/data/shards/shard_packer.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using mae::data::EncodedImage;
using Bytes = std::vector<uint8_t>;

void put(Bytes& out, uint64_t value, int size, bool little_endian) {
  for (int i = 0; i < size; ++i) {
    out.push_back(static_cast<uint8_t>(value >> (8 * (little_endian ? i : size - 1 - i))));
  }
}

// A PNG that is only a header: the signature, an IHDR declaring `width` x `height` 8-bit RGB (with a wrong CRC) and
// IEND. No decoder gets past it, so a message about its size can only come from reading the header before decoding.
Bytes png_header_only(uint32_t width, uint32_t height) {
  Bytes bytes{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  put(bytes, width, 4, false);
  put(bytes, height, 4, false);
  bytes.insert(bytes.end(), {8, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82});
  return bytes;
}

// A JPEG that is only a header: SOI, a JFIF APP0, two stray bytes and a fill byte (which libjpeg skips, with a
// warning), a progressive frame header (SOF2) of `width` x `height`, and EOI before any scan.
Bytes jpeg_header_only(uint16_t width, uint16_t height) {
  Bytes bytes{0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
              'x',  'y',  0xFF, 0xFF, 0xC2, 0, 17, 8};
  put(bytes, height, 2, false);
  put(bytes, width, 2, false);
  bytes.insert(bytes.end(), {3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9});
  return bytes;
}

Bytes encoded(const std::string& extension, const cv::Mat& image, const std::vector<int>& parameters = {}) {
  Bytes bytes;
  EXPECT_TRUE(cv::imencode(extension, image, bytes, parameters)) << extension;
  return bytes;
}

void write(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
}

TEST(ImageHeader, ReadsTheSizeOfEveryFormatTheFoldersHold) {
  const cv::Mat colour(23, 37, CV_8UC3, cv::Scalar(10, 200, 90));
  const cv::Mat grey(23, 37, CV_8UC1, cv::Scalar(128));
  Bytes bmp_core{'B', 'M', 0, 0, 0, 0, 0, 0, 0, 0, 26, 0, 0, 0, 12, 0, 0, 0, 37, 0, 23, 0, 1, 0, 24, 0};
  Bytes bmp_top_down{'B', 'M', 0, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0};
  put(bmp_top_down, 37, 4, true);
  put(bmp_top_down, static_cast<uint32_t>(-23), 4, true);
  Bytes tiff_big_endian{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 2};
  for (const auto& [tag, type, value] : {std::tuple{256, 3, 37u << 16}, std::tuple{257, 4, 23u}}) {
    put(tiff_big_endian, tag, 2, false);
    put(tiff_big_endian, type, 2, false);
    put(tiff_big_endian, 1, 4, false);
    put(tiff_big_endian, value, 4, false);  // a SHORT sits in the first two bytes
  }
  Bytes bigtiff{'I', 'I', 43, 0, 8, 0, 0, 0};
  put(bigtiff, 16, 8, true);
  put(bigtiff, 2, 8, true);
  for (const auto& [tag, value] : {std::pair{256, 37}, std::pair{257, 23}}) {
    put(bigtiff, tag, 2, true);
    put(bigtiff, 16, 2, true);  // LONG8
    put(bigtiff, 1, 8, true);
    put(bigtiff, value, 8, true);
  }
  Bytes webp_extended{'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X', 10, 0, 0, 0, 0, 0, 0, 0};
  put(webp_extended, 36, 3, true);
  put(webp_extended, 22, 3, true);
  const std::string plain_ppm = "P3\n# a comment\n37\t23\n255\n";

  const std::vector<std::pair<std::string, Bytes>> files{
      {"PNG", encoded(".png", colour)},
      {"JPEG", encoded(".jpg", colour)},
      {"BMP", encoded(".bmp", colour)},
      {"BMP", bmp_core},
      {"BMP", bmp_top_down},
      {"PNM", encoded(".ppm", colour)},
      {"PNM", encoded(".pgm", grey)},
      {"PNM", encoded(".pbm", grey)},
      {"PNM", Bytes(plain_ppm.begin(), plain_ppm.end())},
      {"TIFF", encoded(".tiff", colour)},
      {"TIFF", tiff_big_endian},
      {"TIFF", bigtiff},
      {"WebP", encoded(".webp", colour, {cv::IMWRITE_WEBP_QUALITY, 90})},  // VP8, lossy
      {"WebP", encoded(".webp", colour)},                                  // VP8L: OpenCV's default is lossless
      {"WebP", webp_extended},
  };
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& [format, bytes] = files[i];
    const auto header = mae::data::read_image_header(bytes);
    ASSERT_TRUE(header.has_value()) << format << " #" << i;
    EXPECT_EQ(std::string(header->format), format) << " #" << i;
    EXPECT_EQ(header->width, 37) << format << " #" << i;
    EXPECT_EQ(header->height, 23) << format << " #" << i;
    EXPECT_NO_THROW(mae::data::check_pixel_limit(bytes, "x", 37 * 23)) << format << " #" << i;  // not over it
    EXPECT_THROW(mae::data::check_pixel_limit(bytes, "x", 37 * 23 - 1), mae::IoError) << format << " #" << i;
  }

  const Bytes png = encoded(".png", colour);
  const Bytes scan_before_frame{0xFF, 0xD8, 0xFF, 0xDA, 0, 2, 0xFF, 0xC0, 0, 17, 8, 0, 23, 0, 37};
  for (const Bytes& unread : {Bytes{}, Bytes{'n', 'o', 't'}, Bytes(png.begin(), png.begin() + 20), scan_before_frame,
                              Bytes{'I', 'I', 42, 0, 0xFF, 0xFF, 0xFF, 0xFF}}) {
    EXPECT_FALSE(mae::data::read_image_header(unread).has_value()) << unread.size() << " bytes";
  }
}

TEST(DecompressionBomb, APngDeclaringTooManyPixelsIsRefusedBeforeDecoding) {
  const std::string expected =
      "cannot decode image 'bomb.png': its PNG header declares 30000 x 30000 = 900000000 pixels, over "
      "--max_image_pixels 178956970 (a possible decompression bomb, refused before decoding; 0 lifts the limit)";
  const Bytes bomb = png_header_only(30000, 30000);
  EXPECT_EQ(mae::test::error_of<mae::IoError>([&] { EncodedImage::from_bytes(bomb, "bomb.png"); }), expected);

  // Only more than the limit is refused, and a file through open() is named by its path.
  mae::test::TempDir dir;
  write(dir / "small.png", encoded(".png", cv::Mat(30, 40, CV_8UC3, cv::Scalar(1, 2, 3))));
  const std::string path = (dir / "small.png").string();
  EXPECT_EQ(EncodedImage::open(path, 1200).decode().size(), cv::Size(40, 30));
  EXPECT_EQ(mae::test::error_of<mae::IoError>([&] { EncodedImage::open(path, 1199); }),
            "cannot decode image '" + path + "': its PNG header declares 40 x 30 = 1200 pixels, over "
            "--max_image_pixels 1199 (a possible decompression bomb, refused before decoding; 0 lifts the limit)");
}

TEST(DecompressionBomb, AJpegFrameHeaderDeclaringTooManyPixelsIsRefusedBeforeDecoding) {
  const Bytes bomb = jpeg_header_only(/*width=*/30000, /*height=*/20000);
  EXPECT_EQ(mae::test::error_of<mae::IoError>([&] { EncodedImage::from_bytes(bomb, "s.tar: 000000001.jpg"); }),
            "cannot decode image 's.tar: 000000001.jpg': its JPEG header declares 30000 x 20000 = 600000000 pixels, "
            "over --max_image_pixels 178956970 (a possible decompression bomb, refused before decoding; 0 lifts the "
            "limit)");
  // Without a limit the decoders get it, and fail their own way: the message above came from the header alone.
  const std::string decoded = mae::test::error_of<mae::IoError>([&] { EncodedImage::from_bytes(bomb, "b.jpg", 0); });
  EXPECT_EQ(decoded.find("declares"), std::string::npos) << decoded;
  EXPECT_NE(decoded.find("'b.jpg'"), std::string::npos) << decoded;
}

TEST(DecompressionBomb, TheFolderLoaderSkipsAndCountsItOrStopsWithStrictData) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "train/a", 4, 1);  // 0.png ... 3.png, 20 x 20
  write(dir / "train/a/bomb.png", png_header_only(30000, 30000));
  const auto folder = mae::data::ImageFolder::with_classes((dir / "train").string());
  ASSERT_EQ(folder.size(), 5u);
  mae::data::LoaderOptions options;
  options.batch_size = 5;
  options.num_workers = 1;
  options.shuffle = false;
  mae::data::DataLoader loader(folder, mae::data::eval_transform(16), options);
  loader.start_epoch(0);
  const auto batch = loader.next();
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->images.size(0), 5);  // the next readable image took its place
  EXPECT_EQ(loader.skipped_images(), 1);

  options.strict_data = true;
  mae::data::DataLoader strict(folder, mae::data::eval_transform(16), options);
  strict.start_epoch(0);
  const std::string message = mae::test::error_of<mae::IoError>([&] { strict.next(); });
  EXPECT_NE(message.find("'" + (dir / "train/a/bomb.png").string() + "': its PNG header declares 30000 x 30000"),
            std::string::npos)
      << message;

  options.max_image_pixels = 399;  // the option is the loader's limit: now the 20 x 20 images are over it too
  mae::data::DataLoader tight(folder, mae::data::eval_transform(16), options);
  tight.start_epoch(0);
  EXPECT_NE(mae::test::error_of<mae::IoError>([&] { tight.next(); }).find("20 x 20 = 400 pixels, over "
                                                                          "--max_image_pixels 399"),
            std::string::npos);
}

TEST(DecompressionBomb, ThePackerAndTheShardLoaderSkipAndCountIt) {
  mae::test::TempDir dir;
  mae::test::write_random_images(dir / "images/a", 3, 2);  // 20 x 20
  ASSERT_TRUE(cv::imwrite((dir / "images/a/big.png").string(), cv::Mat(30, 40, CV_8UC3, cv::Scalar(5, 6, 7))));
  mae::data::PackOptions packing;
  packing.input = (dir / "images").string();
  packing.output = (dir / "limited").string();
  packing.max_image_pixels = 1000;
  const auto limited = mae::data::pack_shards(packing);
  ASSERT_EQ(limited.splits.size(), 1u);
  EXPECT_EQ(limited.splits[0].samples, 3);
  ASSERT_EQ(limited.splits[0].skipped.size(), 1u);
  EXPECT_NE(limited.splits[0].skipped[0].find("big.png': its PNG header declares 40 x 30 = 1200 pixels"),
            std::string::npos)
      << limited.splits[0].skipped[0];

  packing.output = (dir / "all").string();
  packing.max_image_pixels = 0;
  ASSERT_EQ(mae::data::pack_shards(packing).splits[0].samples, 4);
  mae::data::LoaderOptions options;
  options.batch_size = 4;
  options.num_workers = 1;
  options.drop_last = false;  // evaluation
  options.max_image_pixels = 1000;
  mae::data::ShardLoader loader(mae::data::expand_shard_spec((dir / "all").string()), mae::data::eval_transform(16),
                                options);
  loader.start_epoch(0);
  const auto batch = loader.next();
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->images.size(0), 3);  // evaluation leaves it out
  EXPECT_EQ(loader.skipped_images(), 1);
}

TEST(DecompressionBomb, EveryToolTakesTheFlagWithPilsLimit) {
  const mae::config::PretrainConfig pretrain;
  const mae::config::FinetuneConfig finetune;
  const mae::config::LinprobeConfig linprobe;
  const mae::config::ExtractConfig extract;
  const mae::config::ShardConfig shard;
  for (const mae::config::Settings* settings : std::initializer_list<const mae::config::Settings*>{
           &pretrain, &finetune, &linprobe, &extract, &shard}) {
    bool found = false;
    for (const auto& field : settings->fields()) {
      found = found || field.name == "max_image_pixels";
    }
    EXPECT_TRUE(found);
  }
  for (const int value : {pretrain.max_image_pixels, finetune.max_image_pixels, linprobe.max_image_pixels,
                          extract.max_image_pixels, shard.max_image_pixels}) {
    EXPECT_EQ(value, mae::data::kPilPixelLimit);
  }
}

}  // namespace
