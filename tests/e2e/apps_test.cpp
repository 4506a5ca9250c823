// The executables as a user runs them.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "mae/io/folder_lock.h"
#include "support/test_support.h"

namespace {

using mae::test::run_command;
using mae::test::shell_quote;

using mae::test::app;

class EveryApp : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryApp, PrintsHelpAndExitsZero) {
  const auto result = run_command(app(GetParam()) + " --help");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("--batch_size"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("--config"), std::string::npos);
}

TEST_P(EveryApp, RejectsAnUnknownConfigKeyWithExitCodeTwoAndOneLine) {
  mae::test::TempDir dir;
  std::ofstream(dir / "bad.json") << R"({"bach_size": 8})";
  const auto result = run_command(app(GetParam()) + " --config " + shell_quote((dir / "bad.json").string()));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("unknown key 'bach_size' (did you mean 'batch_size'?)"), std::string::npos)
      << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
}

TEST_P(EveryApp, RejectsAnUnknownFlagWithExitCodeTwo) {
  const auto result = run_command(app(GetParam()) + " --epoch 3");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("unknown flag '--epoch' (did you mean '--epochs'?)"), std::string::npos)
      << result.output;
}

// Issue #27: two jobs on one --output_dir overwrote each other's checkpoints and logs (and the second removed the
// first's temporary files as stale). The second now stops at start, naming the job that holds the folder.
TEST_P(EveryApp, RefusesAnOutputFolderAnotherJobHolds) {
  mae::test::TempDir dir;
  const mae::io::FolderLock running(dir.path().string(), "the_running_job");
  const auto result = run_command(app(GetParam()) + " --output_dir " + shell_quote(dir.path().string()) +
                                  " --data_path " + shell_quote((dir / "absent").string()));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("is in use by another job (the_running_job, pid " + std::to_string(::getpid())),
            std::string::npos)
      << result.output;
}

TEST(FolderLock, IsReleasedWhenItsHolderEnds) {
  mae::test::TempDir dir;
  {
    const mae::io::FolderLock first(dir.path().string(), "first");
    const std::string error = mae::test::error_of<mae::UsageError>(
        [&] { const mae::io::FolderLock second(dir.path().string(), "second"); });
    EXPECT_NE(error.find("(first, pid "), std::string::npos) << error;
  }
  EXPECT_NO_THROW(const mae::io::FolderLock again(dir.path().string(), "again"));
  // A process that died holding it (kill -9) leaves the file, not the lock: the kernel drops a flock with its file.
  const auto killed = run_command("sh -c 'exec 9>>\"$0\" && flock -n 9 && kill -9 $$' " +
                                  shell_quote((dir / mae::io::FolderLock::kFileName).string()));
  EXPECT_NE(killed.exit_code, 0) << killed.output;
  EXPECT_NO_THROW(const mae::io::FolderLock after_kill(dir.path().string(), "after_kill"));
}

INSTANTIATE_TEST_SUITE_P(Apps, EveryApp, ::testing::Values("mae_pretrain", "mae_finetune", "mae_linprobe"));

}  // namespace
