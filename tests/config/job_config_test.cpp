#include "mae/config/job_config.h"

#include <gtest/gtest.h>

#include <cmath>

#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::config::FinetuneConfig;
using mae::config::PretrainConfig;

template <typename Config, typename Mutate>
std::string validation_error(Mutate mutate) {
  Config config;
  mutate(config);
  return mae::test::error_of<mae::UsageError>([&] { config.validate(); });
}

TEST(JobConfig, OfficialDefaultsValidate) {
  EXPECT_NO_THROW(PretrainConfig{}.validate());
  EXPECT_NO_THROW(FinetuneConfig{}.validate());
  EXPECT_NO_THROW(mae::config::LinprobeConfig{}.validate());
}

TEST(JobConfig, RangesNameFieldValueAndRule) {
  EXPECT_EQ(validation_error<PretrainConfig>([](auto& c) { c.batch_size = 0; }),
            "invalid value for batch_size: 0 (must be >= 1)");
  EXPECT_EQ(validation_error<PretrainConfig>([](auto& c) { c.mask_ratio = 1.0; }),
            "invalid value for mask_ratio: 1 (must be >= 0 and < 1)");
  EXPECT_EQ(validation_error<PretrainConfig>([](auto& c) { c.accum_iter = -2; }),
            "invalid value for accum_iter: -2 (must be >= 1)");
  EXPECT_EQ(validation_error<FinetuneConfig>([](auto& c) { c.lr = -0.1; }),
            "invalid value for lr: -0.1 (must be >= 0)");
  EXPECT_EQ(validation_error<FinetuneConfig>([](auto& c) { c.layer_decay = 1.5; }),
            "invalid value for layer_decay: 1.5 (must be >= 0 and <= 1)");
  EXPECT_EQ(validation_error<PretrainConfig>([](auto& c) { c.model = ""; }),
            "invalid value for model: must not be empty");
}

TEST(JobConfig, EveryFloatSettingMustBeFinite) {
  EXPECT_EQ(validation_error<PretrainConfig>([](auto& c) { c.lr = std::nan(""); }),
            "invalid value for lr: nan (must be a finite number)");
  EXPECT_EQ(validation_error<PretrainConfig>([](auto& c) { c.lr = INFINITY; }),
            "invalid value for lr: inf (must be a finite number)");
  EXPECT_EQ(validation_error<PretrainConfig>([](auto& c) { c.min_lr = std::nan(""); }),
            "invalid value for min_lr: nan (must be a finite number)");
  EXPECT_EQ(validation_error<PretrainConfig>([](auto& c) { c.weight_decay = std::nan(""); }),
            "invalid value for weight_decay: nan (must be a finite number)");
  EXPECT_EQ(validation_error<PretrainConfig>([](auto& c) { c.mask_ratio = std::nan(""); }),
            "invalid value for mask_ratio: nan (must be a finite number)");
  EXPECT_EQ(validation_error<FinetuneConfig>([](auto& c) { c.cutmix_minmax = std::vector<double>{0.2, INFINITY}; }),
            "invalid value for cutmix_minmax: inf (must be a finite number)");
}

TEST(JobConfig, ChoicesAndDeviceAreChecked) {
  EXPECT_EQ(validation_error<FinetuneConfig>([](auto& c) { c.remode = "foo"; }),
            "invalid value for remode: 'foo' (choose from pixel, const, rand)");
  EXPECT_EQ(validation_error<PretrainConfig>([](auto& c) { c.device = "gpu"; }),
            "invalid value for device: 'gpu' (use cpu, cuda or cuda:N)");
  PretrainConfig any_gpu;
  any_gpu.device = "cuda:3";
  EXPECT_NO_THROW(any_gpu.validate());
  EXPECT_EQ(validation_error<FinetuneConfig>([](auto& c) { c.cutmix_minmax = std::vector<double>{0.3}; }),
            "invalid value for cutmix_minmax: expected two numbers (min max), got 1");
}

TEST(JobConfig, FieldsPointIntoTheirOwnObject) {
  PretrainConfig a;
  PretrainConfig b = a;  // a copy must describe itself, not the original
  for (auto& field : b.fields()) {
    if (field.name == "epochs") {
      *std::get<int*>(field.target) = 800;
    }
  }
  EXPECT_EQ(b.epochs, 800);
  EXPECT_EQ(a.epochs, 400);
}

}  // namespace
