// MAE_SMOKE_STEPS, the switch of the documented-commands test: unset means a real run, a positive integer caps the
// steps, anything else is refused with the variable named.
#include "mae/util/smoke_steps.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "support/test_support.h"

namespace {

class SmokeSteps : public testing::Test {
 protected:
  void TearDown() override { ::unsetenv("MAE_SMOKE_STEPS"); }
};

TEST_F(SmokeSteps, UnsetOrEmptyIsARealRun) {
  ::unsetenv("MAE_SMOKE_STEPS");
  EXPECT_EQ(mae::smoke_steps(), std::nullopt);
  ::setenv("MAE_SMOKE_STEPS", "", 1);
  EXPECT_EQ(mae::smoke_steps(), std::nullopt);
}

TEST_F(SmokeSteps, APositiveNumberCapsTheSteps) {
  ::setenv("MAE_SMOKE_STEPS", "3", 1);
  EXPECT_EQ(mae::smoke_steps(), 3);
}

TEST_F(SmokeSteps, AnythingElseIsRefusedByName) {
  for (const char* bad : {"0", "-1", "2x", "two"}) {
    ::setenv("MAE_SMOKE_STEPS", bad, 1);
    EXPECT_EQ(mae::test::error_of<mae::UsageError>([] { mae::smoke_steps(); }),
              std::string("MAE_SMOKE_STEPS='") + bad + "' is not a positive number of steps (unset it for a real run)");
  }
}

}  // namespace
