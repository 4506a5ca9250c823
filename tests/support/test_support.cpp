#include "test_support.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

extern char** environ;

namespace mae::test {

std::filesystem::path source_dir() {
  return MAE_SOURCE_DIR;
}
std::filesystem::path binary_dir() {
  return MAE_BINARY_DIR;
}
std::string python() {
  return MAE_PYTHON;
}

TempDir::TempDir() {
  std::random_device seed;
  path_ = std::filesystem::temp_directory_path() /
          ("mae_test_" + std::to_string(::getpid()) + "_" + std::to_string(seed()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string shell_quote(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) {
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return quoted + "'";
}

std::string app(const std::string& name) { return shell_quote((binary_dir() / name).string()); }

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_random_images(const std::filesystem::path& folder, int count, int seed) {
  std::filesystem::create_directories(folder);
  cv::RNG rng(static_cast<uint64_t>(seed));
  for (int i = 0; i < count; ++i) {
    cv::Mat image(20, 20, CV_8UC3);
    rng.fill(image, cv::RNG::UNIFORM, 0, 255);
    cv::imwrite((folder / (std::to_string(i) + ".png")).string(), image);
  }
}

std::vector<nlohmann::json> log_lines(const std::filesystem::path& output_dir) {
  std::ifstream in(output_dir / "log.txt");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

nlohmann::json last_json_line(const std::string& output) {
  const auto start = output.rfind("\n{");
  return nlohmann::json::parse(output.substr(start == std::string::npos ? output.find('{') : start + 1));
}

nlohmann::json read_tensorboard(const std::filesystem::path& log_dir) {
  const auto result = run_command(shell_quote(python()) + " " +
                                  shell_quote((source_dir() / "tests/interop/read_tensorboard.py").string()) + " " +
                                  shell_quote(log_dir.string()));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return result.exit_code == 0 ? last_json_line(result.output) : nlohmann::json::object();
}

CommandResult run_command(const std::string& command_line) {
  CommandResult result;
  FILE* pipe = ::popen((command_line + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    throw std::runtime_error("cannot run: " + command_line);
  }
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    result.output.append(buffer.data(), n);
  }
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

namespace {

std::map<std::string, WorkerFunction>& workers() {
  static std::map<std::string, WorkerFunction> registry;
  return registry;
}

}  // namespace

WorkerRegistration::WorkerRegistration(const std::string& name, WorkerFunction function) {
  workers()[name] = std::move(function);
}

int run_worker(int argc, char** argv) {
  const auto found = workers().find(argv[2]);
  if (found == workers().end()) {
    std::fprintf(stderr, "no worker named %s\n", argv[2]);
    return 2;
  }
  return found->second(std::vector<std::string>(argv + 3, argv + argc));
}

int start_worker(const std::string& name, const std::vector<std::string>& args) {
  std::vector<std::string> words{"/proc/self/exe", "--worker", name};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& word : words) {
    argv.push_back(word.data());
  }
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ) != 0) {
    throw std::runtime_error("cannot start worker " + name);
  }
  return pid;
}

int wait_worker(int pid, int timeout_seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace mae::test
