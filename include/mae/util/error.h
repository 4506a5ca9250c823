#pragma once
// The one exception hierarchy of mae-cpp. Messages name the file, key or value at fault and say what would fix it;
// each executable catches at its top and turns the type into an exit code (exit_code_for).
#include <stdexcept>
#include <string>

namespace mae {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A bad command line or configuration: the user can fix it without touching data or code. Exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// A file or folder that is missing, unreadable or malformed (data, checkpoints, config files are UsageError).
class IoError : public Error {
 public:
  using Error::Error;
};

// A training job stopped on SIGTERM or SIGUSR1 after writing a checkpoint of its position (util/stop_signals.h):
// running it again with --resume auto continues from that very step. Exit code 75.
class Preempted : public Error {
 public:
  using Error::Error;
};

inline constexpr int kExitUsage = 2;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitPreempted = 75;  // EX_TEMPFAIL of sysexits.h: "try again later", which is what a requeue does

// 2 for usage/config errors, 75 for a preempted job, 1 for everything else.
int exit_code_for(const std::exception& error) noexcept;

}  // namespace mae
