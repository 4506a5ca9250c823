#include "mae/util/stop_signals.h"

#include <unistd.h>

#include <atomic>
#include <cstring>

#include "mae/util/error.h"

namespace mae {
namespace {

// What the handlers may touch: lock-free atomics and constants (nothing else is async-signal-safe).
std::atomic<int> first_signal{0};
std::atomic<unsigned> deadline{0};
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<unsigned>::is_always_lock_free);

void write_stderr(const char* message) noexcept {
  // write(2) is async-signal-safe; a failed write has nowhere to be reported.
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, message, std::strlen(message));
}

const char* name_of(int number) noexcept { return number == SIGUSR1 ? "SIGUSR1" : "SIGTERM"; }

[[noreturn]] void end_now(const char* why) noexcept {
  write_stderr(why);
  ::_exit(128 + first_signal.load());
}

extern "C" void on_stop_signal(int number) {
  int none = 0;
  if (first_signal.compare_exchange_strong(none, number)) {
    write_stderr(number == SIGUSR1 ? "SIGUSR1: stopping after the current step with a resumable checkpoint\n"
                                   : "SIGTERM: stopping after the current step with a resumable checkpoint\n");
    if (const unsigned seconds = deadline.load(); seconds > 0) {
      ::alarm(seconds);
    }
    return;
  }
  end_now("second stop signal: ending now, without a checkpoint of the current position\n");
}

extern "C" void on_deadline(int /*number*/) {
  end_now("stop deadline (--preemption_deadline) passed: ending now, without a checkpoint of the current position\n");
}

struct sigaction install(int number, void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // a signal must not make a blocking read or write in progress fail
  struct sigaction previous {};
  if (::sigaction(number, &action, &previous) != 0) {
    throw Error(std::string("cannot install the handler of signal ") + std::to_string(number) + ": " +
                std::strerror(errno));
  }
  return previous;
}

}  // namespace

StopSignals::StopSignals(unsigned deadline_seconds) {
  first_signal = 0;
  deadline = deadline_seconds;
  previous_alarm_ = install(SIGALRM, on_deadline);
  previous_usr1_ = install(SIGUSR1, on_stop_signal);
  previous_term_ = install(SIGTERM, on_stop_signal);
}

StopSignals::~StopSignals() {
  ::sigaction(SIGTERM, &previous_term_, nullptr);
  ::sigaction(SIGUSR1, &previous_usr1_, nullptr);
  ::alarm(0);
  ::sigaction(SIGALRM, &previous_alarm_, nullptr);
  first_signal = 0;
}

bool StopSignals::requested() noexcept { return first_signal.load() != 0; }

const char* StopSignals::signal_name() noexcept {
  const int number = first_signal.load();
  return number == 0 ? "" : name_of(number);
}

}  // namespace mae
