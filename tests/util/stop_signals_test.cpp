// The stop-signal handlers of a training job: the first SIGTERM/SIGUSR1 is only recorded, a second one or the deadline
// ends the process at once with 128 + the first signal's number, and the previous handlers come back afterwards.
#include "mae/util/stop_signals.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>

#include "support/test_support.h"

namespace {

// Runs in a worker process, since it ends that process: `second` raises a second signal, `deadline` waits past the
// deadline. Returning at all means the process was not ended.
int stop_signals_worker(const std::vector<std::string>& args) {
  const bool second = args.at(0) == "second";
  const mae::StopSignals stop_signals(second ? 0 : 1);
  std::raise(second ? SIGUSR1 : SIGTERM);
  if (!mae::StopSignals::requested()) {
    return 3;
  }
  if (second) {
    std::raise(SIGUSR1);
  } else {
    ::sleep(20);
  }
  return 4;
}
const mae::test::WorkerRegistration registration("stop_signals", stop_signals_worker);

void (*current_handler(int number))(int) {
  struct sigaction action {};
  ::sigaction(number, nullptr, &action);
  return action.sa_handler;
}

TEST(StopSignals, TheFirstSignalIsRecordedAndThePreviousHandlersComeBack) {
  ASSERT_EQ(current_handler(SIGTERM), SIG_DFL);
  {
    const mae::StopSignals stop_signals(0);
    EXPECT_FALSE(mae::StopSignals::requested());
    EXPECT_STREQ(mae::StopSignals::signal_name(), "");
    std::raise(SIGTERM);  // would end this test process without the handler
    EXPECT_TRUE(mae::StopSignals::requested());
    EXPECT_STREQ(mae::StopSignals::signal_name(), "SIGTERM");
  }
  EXPECT_FALSE(mae::StopSignals::requested());
  EXPECT_EQ(current_handler(SIGTERM), SIG_DFL);
  EXPECT_EQ(current_handler(SIGUSR1), SIG_DFL);
  EXPECT_EQ(current_handler(SIGALRM), SIG_DFL);
}

TEST(StopSignals, ASecondSignalEndsTheProcessAtOnce) {
  const int pid = mae::test::start_worker("stop_signals", {"second"});
  EXPECT_EQ(mae::test::wait_worker(pid, 60), 128 + SIGUSR1);
}

TEST(StopSignals, TheDeadlineEndsAProcessThatDidNotStop) {
  const auto start = std::chrono::steady_clock::now();
  const int pid = mae::test::start_worker("stop_signals", {"deadline"});
  EXPECT_EQ(mae::test::wait_worker(pid, 60), 128 + SIGTERM);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));  // the 1 s deadline, not the sleep
}

}  // namespace
