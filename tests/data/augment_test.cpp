#include <gtest/gtest.h>

#include <torch/torch.h>

#include "mae/data/augment/mixup.h"
#include "mae/data/augment/pipelines.h"
#include "mae/data/augment/random_erasing.h"
#include "mae/io/pth_file.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using namespace mae::data;

double reference_value(const std::string& key) {
  static const auto dict =
      mae::io::load_pth((mae::test::source_dir() / "tests/fixtures/data/transforms.pth").string()).toGenericDict();
  return dict.at(key).toTensor().item<double>();
}

double mean_erased_fraction(int max_count) {
  RandomErasingOptions options;
  options.probability = 1.0;
  options.mode = ErasingMode::constant;
  options.max_count = max_count;
  double total = 0.0;
  for (int i = 0; i < 4000; ++i) {
    Rng rng(3, 0, static_cast<uint64_t>(i));
    at::Tensor image = torch::ones({3, 56, 56});
    random_erase(image, options, rng);
    total += (image == 0).to(torch::kFloat).mean().item<double>();
  }
  return total / 4000;
}

TEST(RandomErasing, ErasedAreaMatchesTimm) {
  // 4000 draws each side: standard error of the mean about 0.0015; we allow 0.01.
  EXPECT_NEAR(mean_erased_fraction(1), reference_value("erased_fraction_count1"), 0.01);
  EXPECT_NEAR(mean_erased_fraction(3), reference_value("erased_fraction_count3"), 0.01);
}

TEST(RandomErasing, ModesAndProbability) {
  RandomErasingOptions options;
  options.probability = 0.0;
  at::Tensor image = torch::ones({3, 40, 40});
  Rng rng(0, 0, 0);
  random_erase(image, options, rng);
  EXPECT_TRUE(torch::equal(image, torch::ones({3, 40, 40})));

  options.probability = 1.0;
  options.mode = ErasingMode::pixel;
  int64_t changed_total = 0;
  for (int i = 0; i < 20; ++i) {
    Rng r(1, 0, static_cast<uint64_t>(i));
    at::Tensor noisy = torch::full({3, 40, 40}, 100.0);
    random_erase(noisy, options, r);
    const auto changed = noisy != 100.0;
    changed_total += changed.sum().item<int64_t>();
    if (changed.any().item<bool>()) {
      EXPECT_LT(noisy.masked_select(changed).abs().max().item<double>(), 10.0);  // N(0, 1) draws
      EXPECT_TRUE(torch::equal(changed[0], changed[1]));  // one box through all channels
    }
  }
  EXPECT_GT(changed_total, 0);
  EXPECT_THROW(parse_erasing_mode("bogus"), mae::UsageError);
  EXPECT_EQ(parse_erasing_mode("rand"), ErasingMode::rand);
}

TEST(Mixup, SmoothedOneHot) {
  const auto targets = smoothed_one_hot(torch::tensor({2, 0}), 4, 0.1);
  EXPECT_TRUE(torch::allclose(targets[0], torch::tensor({0.025F, 0.025F, 0.925F, 0.025F})));
  EXPECT_TRUE(torch::allclose(targets.sum(1), torch::ones({2})));
}

at::Tensor distinct_images(int64_t batch) {
  return torch::arange(batch * 3 * 8 * 8, torch::kFloat).reshape({batch, 3, 8, 8});
}

TEST(Mixup, BatchBlendMixesWithTheReversedBatch) {
  MixupOptions options;
  options.mixup_alpha = 0.8;
  options.num_classes = 5;
  const Mixup mixup(options);
  ASSERT_TRUE(mixup.active());
  const auto original = distinct_images(4);
  auto images = original.clone();
  const auto labels = torch::tensor({0, 1, 2, 3});
  Rng rng(0, 0, 0);
  const auto mixed = mixup.apply(images, labels, rng);
  const double lambda = mixed.lambda[0].item<double>();
  EXPECT_TRUE(torch::allclose(images, original * lambda + original.flip(0) * (1 - lambda), 1e-5, 1e-3));
  const auto expected = smoothed_one_hot(labels, 5, 0.1) * lambda + smoothed_one_hot(labels.flip(0), 5, 0.1) * (1 - lambda);
  EXPECT_TRUE(torch::allclose(mixed.targets, expected));
}

TEST(Mixup, CutmixCopiesABoxAndCorrectsLambda) {
  for (const std::string mode : {"batch", "pair", "elem"}) {
    MixupOptions options;
    options.cutmix_alpha = 1.0;
    options.mode = mode;
    options.num_classes = 4;
    const Mixup mixup(options);
    const auto original = distinct_images(4);
    auto images = original.clone();
    Rng rng(5, 0, 0);
    const auto mixed = mixup.apply(images, torch::tensor({0, 1, 2, 3}), rng);
    for (int64_t i = 0; i < 4; ++i) {
      const auto own = (images[i] == original[i]).to(torch::kFloat).mean().item<double>();
      const auto partner = (images[i] == original[3 - i]).to(torch::kFloat).mean().item<double>();
      EXPECT_NEAR(own + partner, 1.0, 1e-9) << mode;  // every pixel from one of the two
      EXPECT_NEAR(own, mixed.lambda[i].item<double>(), 1e-6) << mode << " sample " << i;
    }
  }
}

// The jobs blend on the device after the copy, as the reference: the same draws give the same batch there.
TEST(Mixup, OnTheGpuEqualsTheCpu) {
  if (!torch::cuda::is_available()) {
    GTEST_SKIP() << "no GPU on this machine";
  }
  for (const std::string mode : {"batch", "pair", "elem"}) {
    MixupOptions options;
    options.mixup_alpha = 0.8;
    options.cutmix_alpha = 1.0;
    options.mode = mode;
    options.num_classes = 4;
    const Mixup mixup(options);
    auto on_cpu = distinct_images(4);
    auto on_gpu = distinct_images(4).cuda();
    const auto labels = torch::tensor({0, 1, 2, 3});
    Rng cpu_rng(3, 1, 2);
    Rng gpu_rng(3, 1, 2);
    const auto cpu = mixup.apply(on_cpu, labels, cpu_rng);
    const auto gpu = mixup.apply(on_gpu, labels.cuda(), gpu_rng);
    EXPECT_TRUE(gpu.targets.is_cuda()) << mode;
    EXPECT_TRUE(torch::allclose(on_gpu.cpu(), on_cpu, 1e-5, 1e-5)) << mode;
    EXPECT_TRUE(torch::allclose(gpu.targets.cpu(), cpu.targets)) << mode;
  }
}

TEST(Mixup, ProbabilityZeroLeavesImagesAndOddBatchesFail) {
  MixupOptions options;
  options.mixup_alpha = 1.0;
  options.prob = 0.0;
  const Mixup mixup(options);
  auto images = distinct_images(2);
  Rng rng(0, 0, 0);
  const auto mixed = mixup.apply(images, torch::tensor({1, 0}), rng);
  EXPECT_TRUE(torch::equal(images, distinct_images(2)));
  EXPECT_TRUE(torch::allclose(mixed.targets, smoothed_one_hot(torch::tensor({1, 0}), 1000, 0.1)));
  auto odd = distinct_images(3);
  EXPECT_THROW(mixup.apply(odd, torch::tensor({0, 1, 2}), rng), mae::UsageError);
}

}  // namespace

namespace {

TEST(FinetunePipeline, ProducesNormalisedCropsAndRejectsUnknownAugmentations) {
  const auto image = mae::data::EncodedImage::from_pixels(cv::Mat(75, 97, CV_8UC3, cv::Scalar(200, 30, 90)));
  mae::data::FinetuneAugmentation augmentation;
  augmentation.input_size = 32;
  const auto transform = mae::data::finetune_train_transform(augmentation);
  for (uint64_t i = 0; i < 10; ++i) {
    mae::data::Rng rng(0, 0, i);
    const auto tensor = transform(image, rng);
    EXPECT_EQ(tensor.sizes(), (std::vector<int64_t>{3, 32, 32}));
    EXPECT_TRUE(tensor.isfinite().all().item<bool>());
  }
  augmentation.aa = "";
  augmentation.color_jitter = 0.4;
  augmentation.reprob = 0.0;
  mae::data::Rng rng(0, 0, 0);
  EXPECT_EQ(mae::data::finetune_train_transform(augmentation)(image, rng).size(1), 32);
  augmentation.aa = "original";
  EXPECT_THROW(mae::data::finetune_train_transform(augmentation), mae::UsageError);
  augmentation.aa = "";
  augmentation.remode = "bogus";  // refused when the pipeline is built, not at the first erased sample
  EXPECT_THROW(mae::data::finetune_train_transform(augmentation), mae::UsageError);
}

}  // namespace
