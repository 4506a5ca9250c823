#pragma once
// Helpers shared by the tests: paths of the build, running commands, temporary folders, and worker processes.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "mae/util/error.h"

namespace mae::test {

// The message of the `Exception` that `action()` throws. A call that throws nothing fails the test and gives "".
template <typename Exception = mae::Error, typename Action>
std::string error_of(Action&& action) {
  try {
    std::forward<Action>(action)();
  } catch (const Exception& error) {
    return error.what();
  }
  ADD_FAILURE() << "no exception was thrown";
  return "";
}

std::filesystem::path source_dir();  // the repository root
std::filesystem::path binary_dir();  // build/bin, where the executables are
std::string python();                // the Python interpreter with torch, as CMake found it

// A fresh, empty folder below the system temp dir, removed when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line and collects its output and exit code.
CommandResult run_command(const std::string& command_line);

// Quotes one word for the shell.
std::string shell_quote(const std::string& word);

// The shell-quoted path of executable `name` in build/bin (mae_pretrain, ...).
std::string app(const std::string& name);

// The whole content of a text file ("" when it cannot be read).
std::string read_file(const std::filesystem::path& path);

// `count` PNG images of 20x20 random pixels in `folder` (created), named 0.png, 1.png, ...: data for a job to read.
void write_random_images(const std::filesystem::path& folder, int count, int seed);

// <output_dir>/log.txt: one JSON object per line, as the jobs append them.
std::vector<nlohmann::json> log_lines(const std::filesystem::path& output_dir);

// The last line of `output` that is a JSON object (mae_bench --json, bench_reference.py --json).
nlohmann::json last_json_line(const std::string& output);

// The TensorBoard event files in `log_dir` as TensorBoard's own reader sees them (tests/interop/read_tensorboard.py):
// {"files": N, "file_version": V, "scalars": {tag: [[step, value], ...]}}.
nlohmann::json read_tensorboard(const std::filesystem::path& log_dir);

// Worker processes: mae_tests started as `mae_tests --worker NAME ARGS...` runs the function registered under NAME
// instead of the tests. Multi-process tests start several such workers of their own binary.
using WorkerFunction = std::function<int(const std::vector<std::string>& args)>;

struct WorkerRegistration {
  WorkerRegistration(const std::string& name, WorkerFunction function);
};

// Called by main(): runs the named worker and returns its exit code.
int run_worker(int argc, char** argv);

// Starts this test binary as worker `name` with `args`; returns the process id.
int start_worker(const std::string& name, const std::vector<std::string>& args);

// Waits for a started worker; returns its exit code, or -1 when it was killed or outlived the timeout (then it is
// killed, so a hung collective fails the test instead of hanging CI).
int wait_worker(int pid, int timeout_seconds);

}  // namespace mae::test
