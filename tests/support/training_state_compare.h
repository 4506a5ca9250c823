#pragma once
// Whether two training checkpoints hold the same run: every weight, every optimizer state tensor and setting, the
// scaler and the epoch equal, as resumed, restarted or relaunched runs must end (their `args` differ in paths).
#include <filesystem>

namespace mae::test {

// gtest expectations that the checkpoints at `expected` and `actual` hold equal training states.
void expect_same_training_state(const std::filesystem::path& expected, const std::filesystem::path& actual);

}  // namespace mae::test
