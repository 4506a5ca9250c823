// --profile_steps and --grad_checkpointing on the three jobs end to end: each writes its Kineto trace of the asked steps
// under the documented name, the trace is Chrome trace JSON with the training step's ops, and the checkpointed blocks
// show in it as their autograd node (CheckpointFunction) only when --grad_checkpointing is given.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "support/test_support.h"

namespace {

using mae::test::app;
using mae::test::run_command;
using mae::test::shell_quote;

// The event names of a Chrome trace file.
std::set<std::string> trace_event_names(const std::filesystem::path& trace) {
  const nlohmann::json json = nlohmann::json::parse(mae::test::read_file(trace));
  std::set<std::string> names;
  for (const nlohmann::json& event : json.at("traceEvents")) {
    if (event.contains("name") && event.at("name").is_string()) {
      names.insert(event.at("name").get<std::string>());
    }
  }
  return names;
}

bool any_contains(const std::set<std::string>& names, const std::string& part) {
  for (const std::string& name : names) {
    if (name.find(part) != std::string::npos) {
      return true;
    }
  }
  return false;
}

class Profiling : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const std::string split : {"train", "val"}) {
      mae::test::write_random_images(dir / "data" / split / "a", split == "train" ? 16 : 4, 1);
      mae::test::write_random_images(dir / "data" / split / "b", split == "train" ? 16 : 4, 2);
    }
  }

  // One epoch of 4 steps (32 images, batch 8) at 16 px, writing into dir/<name>.
  std::string job(const std::string& program, const std::string& name, const std::string& extra) {
    const auto out = dir / name;
    return app(program) + " --epochs 1 --input_size 16 --batch_size 8 --num_workers 1 --device cpu --seed 1" +
           " --data_path " + shell_quote((dir / "data").string()) + " --output_dir " + shell_quote(out.string()) +
           " --log_dir '' " + extra;
  }

  // Runs `command`, then checks the trace `file` under dir/<name>/profile: steps 1 and 2 (of --profile_steps 1:3)
  // with their matrix products, the op table in the log, and whether checkpointed blocks ran.
  void expect_trace(const std::string& command, const std::string& name, const std::string& file,
                    bool checkpointed) {
    SCOPED_TRACE(name);
    const auto result = run_command(command);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("host ops by self time, steps 1..2"), std::string::npos) << result.output;
    const auto trace = dir / name / "profile" / file;
    ASSERT_TRUE(std::filesystem::exists(trace)) << result.output;
    const std::set<std::string> names = trace_event_names(trace);
    EXPECT_TRUE(names.contains("ProfilerStep#1") && names.contains("ProfilerStep#2")) << result.output;
    EXPECT_FALSE(names.contains("ProfilerStep#0") || names.contains("ProfilerStep#3"));
    EXPECT_TRUE(names.contains("aten::mm") || names.contains("aten::addmm"));
    EXPECT_EQ(any_contains(names, "CheckpointFunction"), checkpointed);
  }

  mae::test::TempDir dir;
};

TEST_F(Profiling, EveryJobWritesItsTraceAndCheckpointsItsBlocksWhenAsked) {
  const std::string profile = "--profile_steps 1:3 ";
  expect_trace(job("mae_pretrain", "plain", profile + "--model mae_vit_tiny_patch4"), "plain",
               "pretrain.rank0.steps1-3.pt.trace.json", false);
  expect_trace(job("mae_pretrain", "pretrain", profile + "--model mae_vit_tiny_patch4 --grad_checkpointing"),
               "pretrain", "pretrain.rank0.steps1-3.pt.trace.json", true);
  const std::string pretrained = shell_quote((dir / "pretrain/checkpoint-0.pth").string());
  expect_trace(job("mae_finetune", "finetune",
                   profile + "--model vit_tiny_patch4 --nb_classes 2 --grad_checkpointing --finetune " + pretrained),
               "finetune", "finetune.rank0.steps1-3.pt.trace.json", true);
  // Linear probing's frozen encoder keeps no activations: the flag has nothing to recompute, and says so.
  const auto probe = run_command(job("mae_linprobe", "linprobe",
                                     profile + "--model vit_tiny_patch4 --nb_classes 2 --grad_checkpointing "
                                               "--profile_dir " + shell_quote((dir / "probe_traces").string()) +
                                               " --finetune " + pretrained));
  ASSERT_EQ(probe.exit_code, 0) << probe.output;
  EXPECT_NE(probe.output.find("nothing to recompute"), std::string::npos) << probe.output;
  const auto probe_trace = dir / "probe_traces/linprobe.rank0.steps1-3.pt.trace.json";
  ASSERT_TRUE(std::filesystem::exists(probe_trace)) << probe.output;
  EXPECT_TRUE(trace_event_names(probe_trace).contains("ProfilerStep#2"));
}

TEST_F(Profiling, AWindowThatCannotBeRecordedIsRefusedAtStart) {
  const auto reversed = run_command(job("mae_pretrain", "reversed", "--model mae_vit_tiny_patch4 --profile_steps 3:1"));
  EXPECT_EQ(reversed.exit_code, 2) << reversed.output;
  EXPECT_NE(reversed.output.find("--profile_steps"), std::string::npos) << reversed.output;
  const auto malformed = run_command(job("mae_pretrain", "malformed", "--model mae_vit_tiny_patch4 --profile_steps 5"));
  EXPECT_EQ(malformed.exit_code, 2) << malformed.output;
  EXPECT_NE(malformed.output.find("profile_steps"), std::string::npos) << malformed.output;
}

}  // namespace
