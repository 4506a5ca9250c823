// --amp as the jobs resolve it (engine/autocast.h): the GPU's bf16 capability decides `auto`.
#include <gtest/gtest.h>

#include "mae/engine/autocast.h"

namespace {

using mae::engine::Precision;
using mae::engine::resolve_precision;

void expect_precision(const Precision& actual, std::optional<c10::ScalarType> autocast, bool loss_scaling,
                      const std::string& what) {
  EXPECT_EQ(actual.autocast, autocast) << what;
  EXPECT_EQ(actual.loss_scaling, loss_scaling) << what;
}

TEST(Precision, AutoIsBf16OnAmpereFp16WithLossScalingOnOlderGpusAndFp32OnTheCpu) {
  expect_precision(resolve_precision("auto", /*cuda=*/true, /*native_bf16=*/true), c10::kBFloat16, false, "A100");
  expect_precision(resolve_precision("auto", true, false), c10::kHalf, true, "V100");
  expect_precision(resolve_precision("auto", false, false), std::nullopt, false, "CPU");
}

TEST(Precision, ExplicitChoicesAreKeptOnEveryDevice) {
  for (const bool cuda : {false, true}) {
    for (const bool native_bf16 : {false, true}) {
      const std::string what = std::string(cuda ? "cuda" : "cpu") + (native_bf16 ? ", native bf16" : "");
      expect_precision(resolve_precision("bf16", cuda, native_bf16), c10::kBFloat16, false, "bf16 on " + what);
      expect_precision(resolve_precision("fp16", cuda, native_bf16), c10::kHalf, true, "fp16 on " + what);
      expect_precision(resolve_precision("off", cuda, native_bf16), std::nullopt, false, "off on " + what);
    }
  }
}

}  // namespace
