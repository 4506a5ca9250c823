// mae_bench and the side-by-side script in a tiny configuration, so that neither can rot.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "mae/models/factory.h"
#include "mae/models/flops.h"
#include "support/test_support.h"

namespace {

using mae::test::last_json_line;
using mae::test::run_command;
using mae::test::shell_quote;

std::string bench() { return mae::test::app("mae_bench"); }


class EveryJob : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryJob, StepBenchReportsThroughputFlopsAndMemory) {
  const auto result = run_command(bench() + " step --json --job " + GetParam() +
                                  " --model mae_vit_tiny_patch4 --input_size 16 --batch_size 2 --warmup 1 --iters 2 "
                                  "--peak_tflops 1");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto line = last_json_line(result.output);
  EXPECT_EQ(line.at("job"), GetParam());
  EXPECT_GT(line.at("median_step_seconds").get<double>(), 0.0);
  EXPECT_NEAR(line.at("images_per_second").get<double>(), 2.0 / line.at("median_step_seconds").get<double>(), 1e-9);
  EXPECT_GT(line.at("peak_memory_bytes").get<int64_t>(), 1 << 20);
  EXPECT_EQ(line.at("memory_kind"), "peak RSS");
  EXPECT_NEAR(line.at("mfu").get<double>(), line.at("achieved_tflops").get<double>(), 1e-12);  // peak 1 TFLOP/s
  auto mae = mae::models::mae_architecture("mae_vit_tiny_patch4");
  mae.encoder.img_size = 16;
  mae::models::VitOptions vit;
  vit.encoder = mae.encoder;
  const double flops = line.at("flops_per_image").get<double>();
  if (GetParam() == "pretrain") {
    EXPECT_DOUBLE_EQ(flops, 3 * mae::models::mae_forward_flops(mae, 0.75));
  } else if (GetParam() == "finetune") {
    EXPECT_DOUBLE_EQ(flops, 3 * mae::models::vit_forward_flops(vit));
  } else if (GetParam() == "inference") {
    EXPECT_DOUBLE_EQ(flops, mae::models::vit_forward_flops(vit));
  }
}

INSTANTIATE_TEST_SUITE_P(Jobs, EveryJob, ::testing::Values("pretrain", "finetune", "linprobe", "inference"));

TEST(StepBench, RealDataGoesThroughTheLoaderAndBadOptionsAreNamed) {
  mae::test::TempDir dir;
  cv::RNG rng(1);
  for (int i = 0; i < 6; ++i) {
    cv::Mat image(24, 20, CV_8UC3);
    rng.fill(image, cv::RNG::UNIFORM, 0, 255);
    cv::imwrite((dir / (std::to_string(i) + ".jpg")).string(), image);
  }
  const auto real = run_command(bench() + " step --job pretrain --model mae_vit_tiny_patch4 --input_size 16 "
                                "--batch_size 4 --warmup 1 --iters 3 --num_workers 1 --data_path " +
                                shell_quote(dir.path().string()));
  ASSERT_EQ(real.exit_code, 0) << real.output;
  EXPECT_NE(real.output.find("data from " + dir.path().string()), std::string::npos) << real.output;
  const auto bad_job = run_command(bench() + " step --job pretraining");
  EXPECT_EQ(bad_job.exit_code, 2);
  EXPECT_NE(bad_job.output.find("invalid value for job: 'pretraining' (choose from pretrain, finetune, linprobe, inference)"), std::string::npos) << bad_job.output;
}

TEST(BenchCompare, RunsBothSidesAndPrintsTheRatio) {
  const auto result = run_command(shell_quote(mae::test::python()) + " " +
                                  shell_quote((mae::test::source_dir() / "scripts/bench_compare.py").string()) +
                                  " --bench " + bench() + " --jobs pretrain,linprobe --model mae_vit_tiny_patch4 "
                                  "--input_size 16 --batch_size 2 --warmup 0 --iters 1");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("pretrain  mae_vit_tiny_patch4 batch 2 off"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("linprobe  mae_vit_tiny_patch4"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("speed-up"), std::string::npos) << result.output;
}

}  // namespace
