// mae_tests: GoogleTest's main, plus the worker mode that multi-process tests start (see test_support.h).
#include <gtest/gtest.h>

#include <string_view>

#include "support/test_support.h"

int main(int argc, char** argv) {
  if (argc >= 3 && std::string_view(argv[1]) == "--worker") {
    return mae::test::run_worker(argc, argv);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
