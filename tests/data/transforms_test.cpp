#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <random>
#include <opencv2/core.hpp>

#include "mae/data/image/image_io.h"
#include "mae/data/augment/pipelines.h"
#include "mae/data/augment/resample.h"
#include "mae/data/augment/transforms.h"
#include "mae/io/pth_file.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using namespace mae::data;

std::string fixture_path(const std::string& name) {
  return (mae::test::source_dir() / "tests/fixtures/data" / name).string();
}

const c10::impl::GenericDict& reference() {
  static const auto dict = mae::io::load_pth(fixture_path("transforms.pth")).toGenericDict();
  return dict;
}

at::Tensor as_tensor(const cv::Mat& image) {
  const cv::Mat contiguous = image.isContinuous() ? image : image.clone();
  return torch::from_blob(contiguous.data, {contiguous.rows, contiguous.cols, contiguous.channels()}, torch::kUInt8)
      .clone()
      .squeeze(-1);
}

// Exact equality with PIL, reported as the largest difference in 8-bit levels.
void expect_pixels(const cv::Mat& ours, const std::string& key) {
  const at::Tensor theirs = reference().at(key).toTensor();
  const at::Tensor mine = as_tensor(ours);
  ASSERT_EQ(mine.sizes(), theirs.sizes()) << key;
  const int max_difference = (mine.to(torch::kInt) - theirs.to(torch::kInt)).abs().max().item<int>();
  EXPECT_EQ(max_difference, 0) << key;
}

TEST(ImageRead, ConvertsLikePilConvertRgb) {
  expect_pixels(read_rgb_image(fixture_path("chelsea_97x75.png")), "rgb");
  expect_pixels(read_rgb_image(fixture_path("chelsea_grey.png")), "grey_as_rgb");
  expect_pixels(read_rgb_image(fixture_path("chelsea_rgba.png")), "rgba_as_rgb");
}

const char* const kJpegFixtures[] = {"420", "422", "444", "420_progressive", "grey"};

TEST(JpegRead, DecodesLikePil) {
  // libjpeg-turbo straight to RGB with PIL's settings: equal to PIL's open().convert('RGB') to the pixel, for each
  // chroma subsampling, progressive coding and grey.
  for (const std::string name : kJpegFixtures) {
    expect_pixels(read_rgb_image(fixture_path("chelsea_" + name + ".jpg")), "jpeg_" + name);
  }
}

TEST(JpegRead, DecodingARegionGivesThatRegionOfTheWholeImage) {
  // Regions touching every edge, inside one iMCU, across iMCU boundaries, and 1-pixel slivers: the partial decode
  // (skipped rows above, cropped columns, no rows below) must give exactly the whole decode's pixels.
  std::mt19937 random(7);
  for (const std::string name : kJpegFixtures) {
    const auto image = EncodedImage::open(fixture_path("chelsea_" + name + ".jpg"));
    const cv::Mat whole = image.decode();
    ASSERT_EQ(whole.size(), cv::Size(99, 67));
    std::vector<cv::Rect> regions{{0, 0, 99, 67}, {0, 0, 1, 1}, {98, 66, 1, 1}, {17, 33, 1, 34}, {40, 5, 20, 3}};
    for (int i = 0; i < 200; ++i) {
      const int x = static_cast<int>(random() % 99);
      const int y = static_cast<int>(random() % 67);
      regions.emplace_back(x, y, 1 + static_cast<int>(random() % (99 - x)), 1 + static_cast<int>(random() % (67 - y)));
    }
    for (const cv::Rect& region : regions) {
      const cv::Mat part = image.decode(region);
      ASSERT_EQ(cv::norm(part, whole(region), cv::NORM_INF), 0.0) << name << " region " << region;
    }
  }
}

TEST(JpegRead, TruncatedOrCorruptFilesAreErrorsNamingTheFile) {
  // PIL refuses a JPEG that ends early ("image file is truncated"); libjpeg alone would pad it with grey.
  mae::test::TempDir dir;
  const std::string jpeg = mae::test::read_file(fixture_path("chelsea_420.jpg"));
  std::ofstream(dir / "truncated.jpg", std::ios::binary) << jpeg.substr(0, jpeg.size() / 2);
  std::string corrupt = jpeg;
  corrupt[20] = static_cast<char>(0xFF);  // inside the quantisation table segment: a bad marker
  corrupt[21] = static_cast<char>(0xC9);  // SOF9, arithmetic coding, which this libjpeg does not decode
  std::ofstream(dir / "corrupt.jpg", std::ios::binary) << corrupt;
  for (const std::string name : {"truncated.jpg", "corrupt.jpg"}) {
    const std::string error =
        mae::test::error_of<mae::IoError>([&] { EncodedImage::open((dir / name).string()).decode(); });
    EXPECT_NE(error.find(name), std::string::npos) << error;
  }
}

TEST(ImageRead, UnreadableFilesAreNamed) {
  mae::test::TempDir dir;
  std::ofstream(dir / "broken.jpg") << "not a jpeg";
  try {
    read_rgb_image((dir / "broken.jpg").string());
    FAIL();
  } catch (const mae::IoError& error) {
    EXPECT_NE(std::string(error.what()).find("broken.jpg"), std::string::npos) << error.what();
  }
}

TEST(BicubicResize, EqualsPilExactly) {
  const cv::Mat image = read_rgb_image(fixture_path("chelsea_97x75.png"));
  expect_pixels(resize_bicubic(image, 40, 31), "resize_40x31");      // downscale: antialiased
  expect_pixels(resize_bicubic(image, 150, 120), "resize_150x120");  // upscale
  expect_pixels(resize_bicubic(image, 97, 50), "resize_97x50");      // vertical pass only
  expect_pixels(resize_bicubic(image, 50, 75), "resize_50x75");      // horizontal pass only
  cv::Mat grey;  // one channel of the replicated grey image: PIL's "L" image
  cv::extractChannel(read_rgb_image(fixture_path("chelsea_grey.png")), grey, 0);
  expect_pixels(resize_bicubic(grey, 33, 21), "grey_resize_33x21");
}

TEST(ResizedCrop, EqualsTorchvisionOnPil) {
  const cv::Mat image = read_rgb_image(fixture_path("chelsea_97x75.png"));
  expect_pixels(resized_crop(EncodedImage::from_pixels(image), {10, 7, 50, 60}, 32), "resized_crop_10_7_50_60_to_32");
}

TEST(Flip, EqualsTorchvision) {
  expect_pixels(horizontal_flip(read_rgb_image(fixture_path("chelsea_97x75.png"))), "flip");
}

TEST(EvalPipeline, ResizeCenterCropNormalizeEqualsTorchvision) {
  // The 8-bit pixels are identical; the float normalisation differs only by rounding: (x/255 - m)/s is computed as
  // one multiply-add. Tolerance 1e-6.
  const auto image = EncodedImage::open(fixture_path("chelsea_97x75.png"));
  Rng rng(0, 0, 0);
  const at::Tensor ours = eval_transform(32)(image, rng);
  const at::Tensor theirs = reference().at("eval_32").toTensor();
  ASSERT_EQ(ours.sizes(), theirs.sizes());
  EXPECT_LT((ours - theirs).abs().max().item<double>(), 1e-6);
}

TEST(Grayscale, EqualsPilConvertL) {
  // Expected values printed by PIL 11: Image.fromarray(pixels).convert('L').
  const std::vector<uint8_t> pixels{255, 0,   0,   0, 255, 0, 0,   0,   255, 12, 200, 99,
                                    255, 255, 255, 1, 2,   3, 128, 128, 128, 77, 31,  250};
  const cv::Mat rgb(2, 4, CV_8UC3, const_cast<uint8_t*>(pixels.data()));
  const cv::Mat gray = to_grayscale(rgb);
  ASSERT_EQ(gray.type(), CV_8UC1);
  const std::vector<uint8_t> expected{76, 150, 29, 132, 255, 2, 128, 70};
  EXPECT_EQ(std::vector<uint8_t>(gray.datastart, gray.dataend), expected);
}

TEST(Grayscale, OneChannelPipelinesNormaliseTheLuminance) {
  const auto image = EncodedImage::open(fixture_path("chelsea_97x75.png"));
  Rng rng(0, 0, 0);
  const at::Tensor gray = eval_transform(32, 1)(image, rng);
  const at::Tensor rgb = eval_transform(32, 3)(image, rng);
  ASSERT_EQ(gray.sizes(), (std::vector<int64_t>{1, 32, 32}));
  // Undo each normalisation: the gray pixel is PIL's luminance of the RGB pixels, within 8-bit rounding.
  const auto mean = torch::tensor({0.485F, 0.456F, 0.406F}).view({3, 1, 1});
  const auto std = torch::tensor({0.229F, 0.224F, 0.225F}).view({3, 1, 1});
  const auto rgb_pixels = ((rgb * std + mean) * 255).round();
  const auto luminance = (rgb_pixels * torch::tensor({0.299F, 0.587F, 0.114F}).view({3, 1, 1})).sum(0);
  const auto gray_pixels = (gray[0] * 0.226F + 0.449F) * 255;
  EXPECT_LT((gray_pixels - luminance).abs().max().item<double>(), 0.51);
  Rng pretrain_rng(0, 0, 1);
  EXPECT_EQ(pretrain_transform(24, 1)(image, pretrain_rng).sizes(), (std::vector<int64_t>{1, 24, 24}));
}

// Mean and std of the area fraction and of log(w / h) over 20000 boxes, as the fixture script computes them.
at::Tensor box_statistics(int height, int width, double scale_low, bool tf_style) {
  std::vector<double> areas;
  std::vector<double> log_ratios;
  for (int i = 0; i < 20000; ++i) {
    Rng rng(1, 0, static_cast<uint64_t>(i));
    const CropBox box = tf_style ? sample_random_resized_crop_tf(height, width, rng, {scale_low, 1.0})
                                 : sample_random_resized_crop(height, width, rng, {scale_low, 1.0});
    EXPECT_TRUE(box.top >= 0 && box.left >= 0 && box.top + box.height <= height && box.left + box.width <= width);
    areas.push_back(static_cast<double>(box.height) * box.width / (static_cast<double>(height) * width));
    log_ratios.push_back(std::log(static_cast<double>(box.width) / box.height));
  }
  const auto a = torch::tensor(areas, torch::kDouble);
  const auto r = torch::tensor(log_ratios, torch::kDouble);
  // numpy's std is the population std.
  return torch::stack({a.mean(), a.std(/*unbiased=*/false), r.mean(), r.std(/*unbiased=*/false)});
}

TEST(RandomResizedCrop, BoxStatisticsMatchTorchvision) {
  // Different random streams: 20000 draws put the standard error of each mean near 0.002; we allow 0.01.
  const std::vector<std::tuple<std::string, int, int, double, bool>> cases{
      {"rrc_stats_375x500_scale_0.2", 375, 500, 0.2, false},
      {"rrc_stats_375x500_scale_0.08", 375, 500, 0.08, false},
      {"rrc_stats_30x300_scale_0.08", 30, 300, 0.08, false},  // mostly the centre-crop fallback
      {"tf_rrc_stats_375x500_scale_0.08", 375, 500, 0.08, true},
  };
  for (const auto& [key, height, width, scale, tf_style] : cases) {
    const at::Tensor ours = box_statistics(height, width, scale, tf_style);
    const at::Tensor theirs = reference().at(key).toTensor();
    EXPECT_LT((ours - theirs).abs().max().item<double>(), 0.01) << key << ": ours " << ours << " torchvision " << theirs;
  }
}

}  // namespace
