// --amp as the jobs resolve it (engine/autocast.h): the device's native bf16 decides `auto`, on GPUs and CPUs alike.
#include <gtest/gtest.h>

#include <c10/core/Device.h>

#include <fstream>
#include <sstream>
#include <string>

#include "mae/engine/autocast.h"

namespace {

using mae::engine::Bf16Support;
using mae::engine::cpu_bf16_support;
using mae::engine::Precision;
using mae::engine::resolve_precision;

void expect_precision(const Precision& actual, std::optional<c10::ScalarType> autocast, bool loss_scaling,
                      const std::string& what) {
  EXPECT_EQ(actual.autocast, autocast) << what;
  EXPECT_EQ(actual.loss_scaling, loss_scaling) << what;
}

const Bf16Support kNative{true, "native"};
const Bf16Support kEmulated{false, "emulated"};

TEST(Precision, AutoIsBf16WhereNativeFp16WithLossScalingOnOlderGpusAndFp32OnOlderCpus) {
  expect_precision(resolve_precision("auto", /*cuda=*/true, kNative), c10::kBFloat16, false, "A100");
  expect_precision(resolve_precision("auto", true, kEmulated), c10::kHalf, true, "V100");
  expect_precision(resolve_precision("auto", false, kNative), c10::kBFloat16, false, "CPU with AMX or AVX512-BF16");
  expect_precision(resolve_precision("auto", false, kEmulated), std::nullopt, false, "older CPU");
}

TEST(Precision, AutoSaysWhyInTheLog) {
  EXPECT_EQ(resolve_precision("auto", false, cpu_bf16_support(true, true)).reason,
            "--amp auto: this CPU has AMX-BF16");
  EXPECT_EQ(resolve_precision("auto", false, cpu_bf16_support(false, true)).reason,
            "--amp auto: this CPU has AVX512-BF16");
  EXPECT_EQ(resolve_precision("auto", false, cpu_bf16_support(false, false)).reason,
            "--amp auto: this CPU has neither AMX-BF16 nor AVX512-BF16, so fp32");
  EXPECT_EQ(resolve_precision("off", false, cpu_bf16_support(true, true)).reason, "--amp off");
}

TEST(Precision, CpuSupportIsAmxBf16OrAvx512Bf16) {
  EXPECT_TRUE(cpu_bf16_support(true, false).native);
  EXPECT_TRUE(cpu_bf16_support(false, true).native);
  EXPECT_FALSE(cpu_bf16_support(false, false).native);
}

TEST(Precision, ThisCpuIsAskedThroughTorch) {
  // Whatever this machine has, the answer is the capability query's, with its evidence named ...
  const Bf16Support support = mae::engine::native_bf16(c10::Device(c10::kCPU));
  EXPECT_EQ(support.evidence.find("this CPU has"), 0U) << support.evidence;
  EXPECT_EQ(support.native, support.evidence.find("neither") == std::string::npos) << support.evidence;
  // ... and agrees with the kernel's own list of the CPU's flags, where there is one (Linux on x86).
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line) && line.rfind("flags", 0) != 0) {
  }
  if (line.rfind("flags", 0) == 0) {
    std::istringstream flags(line.substr(line.find(':') + 1));
    bool listed = false;
    for (std::string flag; flags >> flag;) {
      listed = listed || flag == "avx512_bf16" || flag == "amx_bf16";
    }
    EXPECT_EQ(support.native, listed) << support.evidence << "; /proc/cpuinfo: " << line;
  }
}

TEST(Precision, ExplicitChoicesAreKeptOnEveryDevice) {
  for (const bool cuda : {false, true}) {
    for (const Bf16Support& bf16 : {kNative, kEmulated}) {
      const std::string what = std::string(cuda ? "cuda" : "cpu") + (bf16.native ? ", native bf16" : "");
      expect_precision(resolve_precision("bf16", cuda, bf16), c10::kBFloat16, false, "bf16 on " + what);
      expect_precision(resolve_precision("fp16", cuda, bf16), c10::kHalf, true, "fp16 on " + what);
      expect_precision(resolve_precision("off", cuda, bf16), std::nullopt, false, "off on " + what);
    }
  }
}

}  // namespace
