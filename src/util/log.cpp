// The only translation unit that includes spdlog. It must not include any torch header (see log.h).
#include "mae/util/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>
#include <string>

namespace mae::log {
namespace {

struct State {
  std::mutex mutex;
  std::shared_ptr<spdlog::logger> logger;
  std::string pattern = "[%Y-%m-%d %H:%M:%S] %^%l%$ %v";
  int rank = 0;
  bool all_ranks = false;
};

State& state() {
  static State instance;
  return instance;
}

// Called with the mutex held.
spdlog::logger& logger(State& s) {
  if (!s.logger) {
    s.logger = std::make_shared<spdlog::logger>("mae", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    s.logger->set_pattern(s.pattern);
    s.logger->set_level(spdlog::level::debug);
    s.logger->flush_on(spdlog::level::debug);
  }
  return *s.logger;
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void configure(int rank, int world_size, bool all_ranks) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.rank = rank;
  s.all_ranks = all_ranks;
  const std::string prefix = world_size > 1 ? "[rank " + std::to_string(rank) + "] " : "";
  s.pattern = "[%Y-%m-%d %H:%M:%S] %^%l%$ " + prefix + "%v";
  logger(s).set_pattern(s.pattern);
}

void add_file(const std::string& path) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
  sink->set_pattern(s.pattern);
  logger(s).sinks().push_back(std::move(sink));
}

void write(Level level, std::string_view message) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (s.rank != 0 && !s.all_ranks && level < Level::warn) {
    return;
  }
  logger(s).log(to_spdlog(level), "{}", message);
}

void every_rank(std::string_view message) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  logger(s).log(spdlog::level::info, "{}", message);
}

}  // namespace mae::log
