#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "mae/engine/metric_logger.h"

namespace {

using mae::engine::SmoothedValue;

TEST(SmoothedValue, MedianIsTheLowerMiddleAndFormatsAsTheReference) {
  SmoothedValue loss(20);
  for (double v : {4.0, 1.0, 3.0, 2.0}) {
    loss.update(v);
  }
  EXPECT_DOUBLE_EQ(loss.median(), 2.0);  // torch median of [1, 2, 3, 4]
  EXPECT_EQ(loss.str(), "2.0000 (2.5000)");
  SmoothedValue lr(1, "value6");
  lr.update(0.5);
  lr.update(1.5e-4);
  EXPECT_EQ(lr.str(), "0.000150");
  SmoothedValue window(2);
  for (double v : {10.0, 1.0, 3.0}) {
    window.update(v);
  }
  EXPECT_DOUBLE_EQ(window.median(), 1.0);
  EXPECT_DOUBLE_EQ(window.global_average(), 14.0 / 3.0);
}

TEST(MetricLogger, DurationsAsPythonTimedelta) {
  EXPECT_EQ(mae::engine::format_duration(0.4), "0:00:00");
  EXPECT_EQ(mae::engine::format_duration(3725.9), "1:02:05");
  EXPECT_EQ(mae::engine::format_duration(90000), "1 day, 1:00:00");
  EXPECT_EQ(mae::engine::format_duration(2 * 86400 + 5), "2 days, 0:00:05");
}

TEST(MetricLogger, AveragesInInsertionOrder) {
  mae::engine::MetricLogger logger("Epoch: [0]", 3, 20, c10::kCPU);
  logger.add_meter("lr", SmoothedValue(1, "value6"));
  logger.update("loss", 1.0);
  logger.update("lr", 0.001);
  logger.update("loss", 3.0);
  EXPECT_EQ(logger.averages(), "lr: 0.001000  loss: 1.0000 (2.0000)");
  EXPECT_DOUBLE_EQ(logger.global_average("loss"), 2.0);
}

// The reference ends each line with "max mem: N" (CUDA MB); on the CPU the line ends with the peak resident set,
// which for this process is at least the few MB of a loaded LibTorch.
TEST(MetricLogger, ProgressLineEndsWithThePeakResidentSetOnTheCpu) {
  mae::engine::MetricLogger logger("Epoch: [2]", 17, 20, c10::kCPU);
  logger.update("loss", 0.5);
  logger.batch_loaded();
  logger.iteration_done(3);
  const std::string line = logger.progress_line(3);
  const std::regex shape(R"(^Epoch: \[2\]  \[ 3/17\]  eta: \d+:\d\d:\d\d  loss: 0\.5000 \(0\.5000\)  )"
                         R"(time: \d+\.\d{4}  data: \d+\.\d{4}  max rss: (\d+)$)");
  std::smatch match;
  ASSERT_TRUE(std::regex_match(line, match, shape)) << line;
  EXPECT_GT(std::stoll(match[1].str()), 10) << "a process with LibTorch loaded holds more than 10 MB";
}

}  // namespace
