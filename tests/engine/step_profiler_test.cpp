// --profile_steps (engine/step_profiler): the window's parsing, self times as torch.profiler counts them, and real
// Kineto recordings on the CPU read back as Chrome trace JSON.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/Device.h>
#include <torch/csrc/profiler/api.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mae/engine/step_profiler.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::engine::format_op_table;
using mae::engine::OpInterval;
using mae::engine::OpTime;
using mae::engine::parse_profile_window;
using mae::engine::ProfileWindow;
using mae::engine::self_times;
using mae::engine::StepProfiler;

const c10::Device kCpu(c10::kCPU);
constexpr uint64_t kMs = 1'000'000;  // hand-made intervals are given in milliseconds, which the profiler has in ns

bool profiler_enabled() {
  return torch::profiler::impl::profilerEnabled();
}

// Some ops for a step to record, on tiny tensors.
void work() {
  const at::Tensor a = at::ones({8, 8});
  const at::Tensor out = at::gelu(at::matmul(a, a));
  ASSERT_EQ(out.size(0), 8);
}

// The names of the events of a Chrome trace file; the file must parse as JSON with a "traceEvents" array.
std::set<std::string> event_names(const std::filesystem::path& trace) {
  const nlohmann::json json = nlohmann::json::parse(mae::test::read_file(trace));
  const nlohmann::json& events = json.at("traceEvents");
  EXPECT_TRUE(events.is_array());
  std::set<std::string> names;
  for (const nlohmann::json& event : events) {
    if (event.contains("name") && event.at("name").is_string()) {
      names.insert(event.at("name").get<std::string>());
    }
  }
  return names;
}

const OpTime* find_op(const std::vector<OpTime>& ops, const std::string& name) {
  for (const OpTime& op : ops) {
    if (op.name == name) {
      return &op;
    }
  }
  ADD_FAILURE() << name << " is not among the ops";
  return nullptr;
}

// Makes `folder` the working folder for the object's lifetime, even when a test fails with an exception.
class WorkingFolder {
 public:
  explicit WorkingFolder(const std::filesystem::path& folder) : previous_(std::filesystem::current_path()) {
    std::filesystem::current_path(folder);
  }
  ~WorkingFolder() {
    std::error_code ignored;
    std::filesystem::current_path(previous_, ignored);
  }
  WorkingFolder(const WorkingFolder&) = delete;
  WorkingFolder& operator=(const WorkingFolder&) = delete;

 private:
  std::filesystem::path previous_;
};

// The line of `table` that starts with `name` ("" when none does).
std::string table_line(const std::string& table, const std::string& name) {
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + " ", 0) == 0) {
      return line;
    }
  }
  return "";
}

TEST(StepProfiler, ParsesAHalfOpenRangeOfStepsAndRefusesAnythingElse) {
  const ProfileWindow one = parse_profile_window("0:1");
  EXPECT_EQ(one.first, 0);
  EXPECT_EQ(one.end, 1);
  const ProfileWindow three = parse_profile_window("5:8");
  EXPECT_EQ(three.first, 5);
  EXPECT_EQ(three.end, 8);
  for (const std::string bad : {"", "5", "8:5", "3:3", "-1:2", "a:b", "1:2:3", "1:", ":2", " 1:2", "+1:2"}) {
    const std::string error = mae::test::error_of<mae::UsageError>([&] { parse_profile_window(bad); });
    EXPECT_NE(error.find("--profile_steps"), std::string::npos) << "'" << bad << "': " << error;
    EXPECT_NE(error.find("'" + bad + "'"), std::string::npos) << "'" << bad << "': " << error;
  }
}

TEST(StepProfiler, SelfTimeSubtractsTheOpsDirectlyEnclosedOnTheSameThread) {
  // Thread 1: op_p 0-100 encloses op_a 10-30 and op_b 40-90, and op_b encloses op_c 50-60. Thread 2: op_d 5-95
  // encloses a second op_a 20-25; read as one thread, op_d would nest in op_p and both figures would change.
  const std::vector<OpInterval> intervals = {
      {"op_c", 1, 50 * kMs, 60 * kMs}, {"op_a", 2, 20 * kMs, 25 * kMs}, {"op_p", 1, 0, 100 * kMs},
      {"op_b", 1, 40 * kMs, 90 * kMs}, {"op_d", 2, 5 * kMs, 95 * kMs},  {"op_a", 1, 10 * kMs, 30 * kMs},
  };
  const std::vector<OpTime> ops = self_times(intervals);
  ASSERT_EQ(ops.size(), 5U);
  const std::vector<std::string> order = {"op_d", "op_b", "op_p", "op_a", "op_c"};  // largest self time first
  for (std::size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(ops[i].name, order[i]) << "row " << i;
  }
  const struct {
    std::string name;
    int64_t calls;
    double self_ms;
    double total_ms;
  } expected[] = {
      {"op_d", 1, 85, 90}, {"op_b", 1, 40, 50}, {"op_p", 1, 30, 100}, {"op_a", 2, 25, 25}, {"op_c", 1, 10, 10},
  };
  for (const auto& want : expected) {
    const OpTime* op = find_op(ops, want.name);
    ASSERT_NE(op, nullptr);
    EXPECT_EQ(op->calls, want.calls) << want.name;
    EXPECT_DOUBLE_EQ(op->self_ms, want.self_ms) << want.name;
    EXPECT_DOUBLE_EQ(op->total_ms, want.total_ms) << want.name;
  }
}

TEST(StepProfiler, DeviceKernelsDoNotNest) {
  // kernel_x 5-8 lies within kernel_y 0-10 on the same stream: for host ops that would take 3 ms off kernel_y.
  const std::vector<OpTime> ops = self_times({
      {"kernel_y", 7, 0, 10 * kMs, true},
      {"kernel_x", 7, 5 * kMs, 8 * kMs, true},
      {"kernel_y", 7, 20 * kMs, 30 * kMs, true},
  });
  ASSERT_EQ(ops.size(), 2U);
  EXPECT_EQ(ops[0].name, "kernel_y");
  EXPECT_EQ(ops[0].calls, 2);
  EXPECT_DOUBLE_EQ(ops[0].self_ms, 20);
  EXPECT_DOUBLE_EQ(ops[0].total_ms, 20);
  EXPECT_EQ(ops[1].name, "kernel_x");
  EXPECT_DOUBLE_EQ(ops[1].self_ms, 3);
}

TEST(StepProfiler, TableShowsTheTopRowsWithTheirShareOfAllSelfTime) {
  const std::vector<OpTime> ops = {
      {"op_d", 1, 85, 90}, {"op_b", 1, 40, 50}, {"op_p", 1, 30, 100}, {"op_a", 2, 25, 25}, {"op_c", 1, 10, 10},
  };
  const std::string table = format_op_table(ops, 4, "host ops by self time");
  EXPECT_EQ(table.rfind("host ops by self time\n", 0), 0U) << table;
  // Percents of all 190 ms, op_c's 10 included though its row is not shown.
  EXPECT_NE(table_line(table, "op_d").find("44.74%"), std::string::npos) << table;
  EXPECT_NE(table_line(table, "op_b").find("21.05%"), std::string::npos) << table;
  EXPECT_NE(table_line(table, "op_p").find("15.79%"), std::string::npos) << table;
  const std::string op_a = table_line(table, "op_a");
  EXPECT_NE(op_a.find("13.16%"), std::string::npos) << table;
  EXPECT_NE(op_a.find(" 2 "), std::string::npos) << table;  // its two calls
  EXPECT_NE(op_a.find("25.000"), std::string::npos) << table;
  EXPECT_EQ(table.find("op_c"), std::string::npos) << table;
  EXPECT_NE(table.find("190.000 ms"), std::string::npos) << table;

  const std::string empty = format_op_table({}, 15, "device kernels");
  EXPECT_NE(empty.find("0.000 ms"), std::string::npos) << empty;
}

TEST(StepProfiler, RecordsItsWindowIntoAChromeTrace) {
  const mae::test::TempDir dir;
  const std::filesystem::path trace = dir / "profile/steps.pt.trace.json";  // the folder is the profiler's to create
  StepProfiler profiler({1, 3}, trace.string(), kCpu);
  EXPECT_TRUE(profiler.armed());
  EXPECT_EQ(profiler.trace_path(), trace.string());
  for (int64_t step = 0; step < 5; ++step) {
    const bool inside = step == 1 || step == 2;
    profiler.step_begins(step);
    EXPECT_EQ(profiler.recording(), inside) << "step " << step;
    EXPECT_EQ(profiler_enabled(), inside) << "step " << step;
    work();
    profiler.step_ends(step);
    EXPECT_EQ(profiler.recording(), step == 1) << "after step " << step;  // step 2 is the window's last
    EXPECT_EQ(std::filesystem::exists(trace), step >= 2) << "after step " << step;
  }
  EXPECT_FALSE(profiler_enabled());
  const std::set<std::string> names = event_names(trace);
  EXPECT_TRUE(names.count("aten::matmul") == 1 || names.count("aten::mm") == 1) << "no matmul in the trace";
  EXPECT_EQ(names.count("aten::gelu"), 1U);
  EXPECT_EQ(names.count("ProfilerStep#1"), 1U);
  EXPECT_EQ(names.count("ProfilerStep#2"), 1U);
  EXPECT_EQ(names.count("ProfilerStep#0"), 0U);
  EXPECT_EQ(names.count("ProfilerStep#3"), 0U);
}

TEST(StepProfiler, DisarmedOrOutsideItsWindowItRecordsAndWritesNothing) {
  const mae::test::TempDir dir;
  // The disarmed profiler has no path to write to; were it to write, its relative names would land in the working
  // folder, which is this empty one for the while.
  {
    const WorkingFolder inside(dir.path());
    StepProfiler disarmed;
    EXPECT_FALSE(disarmed.armed());
    EXPECT_EQ(disarmed.trace_path(), "");
    for (int64_t step = 0; step < 4; ++step) {
      disarmed.step_begins(step);
      EXPECT_FALSE(disarmed.recording()) << "step " << step;
      EXPECT_FALSE(profiler_enabled()) << "step " << step;
      work();
      disarmed.step_ends(step);
      EXPECT_FALSE(profiler_enabled()) << "after step " << step;
    }
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));

  const std::filesystem::path trace = dir / "late/steps.pt.trace.json";
  {
    StepProfiler late({10, 12}, trace.string(), kCpu);
    EXPECT_TRUE(late.armed());
    for (int64_t step = 0; step < 4; ++step) {
      late.step_begins(step);
      EXPECT_FALSE(late.recording()) << "step " << step;
      EXPECT_FALSE(profiler_enabled()) << "step " << step;
      work();
      late.step_ends(step);
    }
  }
  EXPECT_FALSE(std::filesystem::exists(trace));
}

TEST(StepProfiler, ARunThatEndsInsideTheWindowWritesWhatItRecorded) {
  const mae::test::TempDir dir;
  const std::filesystem::path trace = dir / "cut.pt.trace.json";
  {
    StepProfiler profiler({0, 10}, trace.string(), kCpu);
    for (int64_t step = 0; step < 2; ++step) {
      profiler.step_begins(step);
      work();
      profiler.step_ends(step);
    }
    profiler.step_begins(2);  // the run stops in the middle of step 2
    work();
    EXPECT_TRUE(profiler.recording());
    EXPECT_FALSE(std::filesystem::exists(trace));
  }
  EXPECT_FALSE(profiler_enabled());
  const std::set<std::string> names = event_names(trace);
  EXPECT_EQ(names.count("ProfilerStep#0"), 1U);
  EXPECT_EQ(names.count("ProfilerStep#1"), 1U);
  EXPECT_EQ(names.count("ProfilerStep#2"), 1U);
  EXPECT_EQ(names.count("aten::gelu"), 1U);
}

TEST(StepProfiler, ARunResumedInsideTheWindowRecordsTheRestOfIt) {
  const mae::test::TempDir dir;
  const std::filesystem::path trace = dir / "resumed.pt.trace.json";
  StepProfiler profiler({2, 4}, trace.string(), kCpu);
  for (int64_t step = 3; step < 5; ++step) {  // resumed at step 3
    profiler.step_begins(step);
    EXPECT_EQ(profiler.recording(), step == 3) << "step " << step;
    work();
    profiler.step_ends(step);
  }
  EXPECT_FALSE(profiler_enabled());
  const std::set<std::string> names = event_names(trace);
  EXPECT_EQ(names.count("ProfilerStep#3"), 1U);
  EXPECT_EQ(names.count("ProfilerStep#4"), 0U);
}

}  // namespace
