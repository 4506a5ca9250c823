// --save_interval_minutes on a clock the test moves: a save is due once the interval has passed since the last save
// (of either kind), never before; 0 minutes is off.
#include "mae/jobs/interval_saves.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using mae::jobs::IntervalSaves;

struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  IntervalSaves::Clock function() {
    return [this] { return now; };
  }
};

TEST(IntervalSaves, DueOnceTheIntervalHasPassedSinceTheLastSave) {
  FakeClock clock;
  std::vector<std::pair<int64_t, int64_t>> written;
  IntervalSaves saves(
      0.5, [&](int64_t epoch, int64_t step) { written.emplace_back(epoch, step); }, clock.function());
  ASSERT_TRUE(saves.enabled());
  EXPECT_FALSE(saves.due());
  clock.now += 29s;
  EXPECT_FALSE(saves.due());
  clock.now += 1s;  // 30 s = 0.5 minutes
  EXPECT_TRUE(saves.due());
  saves.save(3, 17);
  EXPECT_EQ(written, (std::vector<std::pair<int64_t, int64_t>>{{3, 17}}));
  EXPECT_FALSE(saves.due());  // the interval starts again at the save
  clock.now += 20s;
  saves.restart();  // an epoch's checkpoint counts as a save
  clock.now += 20s;
  EXPECT_FALSE(saves.due());
  clock.now += 10s;
  EXPECT_TRUE(saves.due());
}

TEST(IntervalSaves, ZeroMinutesIsOff) {
  FakeClock clock;
  int writes = 0;
  IntervalSaves saves(0, [&](int64_t, int64_t) { ++writes; }, clock.function());
  EXPECT_FALSE(saves.enabled());
  clock.now += 1000h;
  EXPECT_FALSE(saves.due());
  IntervalSaves off;
  off.restart();  // after an epoch's checkpoint, as the jobs call it
  EXPECT_FALSE(off.due());
}

}  // namespace
