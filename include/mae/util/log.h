#pragma once
// Logging facade over spdlog. Callers pass finished strings: spdlog (and Debian's fmt 9 under it) is only ever seen
// by src/util/log.cpp, because LibTorch bundles a different {fmt} and the two must never meet in one translation unit.
#include <string>
#include <string_view>

namespace mae::log {

enum class Level { debug, info, warn, error };

// Sets the process's rank. Rank 0 prints everything; other ranks print warnings and errors only, unless all_ranks.
// Every line carries the rank when world_size > 1.
void configure(int rank, int world_size, bool all_ranks = false);

// Also writes every line (of any rank that prints) to this file, flushed line by line so that a crash loses nothing.
void add_file(const std::string& path);

void write(Level level, std::string_view message);

// An info line that every rank prints, for what differs between ranks (who each is when it joins the job).
void every_rank(std::string_view message);

inline void debug(std::string_view message) {
  write(Level::debug, message);
}
inline void info(std::string_view message) {
  write(Level::info, message);
}
inline void warn(std::string_view message) {
  write(Level::warn, message);
}
inline void error(std::string_view message) {
  write(Level::error, message);
}

}  // namespace mae::log
