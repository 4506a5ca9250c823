#include <gtest/gtest.h>

#include <torch/torch.h>

#include <functional>
#include <opencv2/core.hpp>

#include "mae/data/image/image_io.h"
#include "mae/data/augment/pillow_ops.h"
#include "mae/data/augment/rand_augment.h"
#include "mae/io/pth_file.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using namespace mae::data;

const mae::data::Rgb kFill{124, 116, 104};

cv::Mat chelsea() {
  return read_rgb_image((mae::test::source_dir() / "tests/fixtures/data/chelsea_97x75.png").string());
}

// Largest difference to Pillow's result, in 8-bit levels.
int difference_to_pillow(const cv::Mat& ours, const std::string& key) {
  static const auto reference =
      mae::io::load_pth((mae::test::source_dir() / "tests/fixtures/data/transforms.pth").string()).toGenericDict();
  const at::Tensor theirs = reference.at("pil_" + key).toTensor();
  const cv::Mat contiguous = ours.clone();
  const at::Tensor mine = torch::from_blob(contiguous.data, {contiguous.rows, contiguous.cols, 3}, torch::kUInt8);
  EXPECT_EQ(mine.sizes(), theirs.sizes()) << key;
  return (mine.to(torch::kInt) - theirs.to(torch::kInt)).abs().max().item<int>();
}

TEST(PillowOps, EveryRandAugmentOperationEqualsPillow) {
  const cv::Mat image = chelsea();
  const std::vector<std::pair<std::string, std::function<cv::Mat()>>> cases{
      {"autocontrast", [&] { return pil::autocontrast(image); }},
      {"equalize", [&] { return pil::equalize(image); }},
      {"invert", [&] { return pil::invert(image); }},
      {"posterize_2", [&] { return pil::posterize(image, 2); }},
      {"solarize_100", [&] { return pil::solarize(image, 100); }},
      {"solarize_add_40", [&] { return pil::solarize_add(image, 40); }},
      {"color_1.63", [&] { return pil::color(image, 1.63); }},
      {"color_0.28", [&] { return pil::color(image, 0.28); }},
      {"contrast_1.5", [&] { return pil::contrast(image, 1.5); }},
      {"contrast_0.37", [&] { return pil::contrast(image, 0.37); }},
      {"brightness_1.81", [&] { return pil::brightness(image, 1.81); }},
      {"brightness_0.6", [&] { return pil::brightness(image, 0.6); }},
      {"sharpness_1.9", [&] { return pil::sharpness(image, 1.9); }},
      {"sharpness_0.1", [&] { return pil::sharpness(image, 0.1); }},
      {"rotate_17.3", [&] { return pil::rotate(image, 17.3, kFill); }},
      {"rotate_-26.1", [&] { return pil::rotate(image, -26.1, kFill); }},
      {"shear_x_0.21", [&] { return pil::affine(image, {1, 0.21, 0, 0, 1, 0}, kFill); }},
      {"shear_y_-0.17", [&] { return pil::affine(image, {1, 0, 0, -0.17, 1, 0}, kFill); }},
      {"translate_x_0.3", [&] { return pil::affine(image, {1, 0, 0.3 * image.cols, 0, 1, 0}, kFill); }},
      {"translate_y_-0.41", [&] { return pil::affine(image, {1, 0, 0, 0, 1, -0.41 * image.rows}, kFill); }},
  };
  for (const auto& [key, op] : cases) {
    EXPECT_EQ(difference_to_pillow(op(), key), 0) << key;
  }
}

TEST(RandAugment, ParsesTimmConfigStrings) {
  const RandAugment standard("rand-m9-mstd0.5-inc1");
  EXPECT_DOUBLE_EQ(standard.magnitude(), 9.0);
  EXPECT_DOUBLE_EQ(standard.magnitude_std(), 0.5);
  EXPECT_EQ(standard.num_ops(), 2);
  EXPECT_EQ(RandAugment("rand-m7-n3-inc1").num_ops(), 3);
  EXPECT_THROW(RandAugment("rand-m9-mstd0.5"), mae::UsageError);  // the non-increasing set is not implemented
  EXPECT_THROW(RandAugment("v0"), mae::UsageError);
  EXPECT_THROW(RandAugment("rand-x9-inc1"), mae::UsageError);
}

TEST(RandAugment, DeterministicPerSampleStreamAndChangesImages) {
  const RandAugment augment("rand-m9-mstd0.5-inc1");
  const cv::Mat image = chelsea();
  int changed = 0;
  for (uint64_t i = 0; i < 40; ++i) {
    Rng first(0, 0, i);
    Rng second(0, 0, i);
    const cv::Mat a = augment(image, first);
    const cv::Mat b = augment(image, second);
    EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0.0);
    EXPECT_EQ(a.size(), image.size());
    changed += cv::norm(a, image, cv::NORM_INF) > 0.0 ? 1 : 0;
  }
  // Two ops at probability 0.5 each leave about a quarter of the images untouched.
  EXPECT_GT(changed, 20);
  EXPECT_LT(changed, 40);
}

}  // namespace
