# Debian packages installed by scripts/setup.sh.
find_package(nlohmann_json 3.10 REQUIRED)
find_package(spdlog REQUIRED)     # used only inside src/util/log.cpp, which sees no torch headers (torch bundles fmt)
find_package(CLI11 REQUIRED)      # used only by src/apps
if(MAE_BUILD_TESTS)
  find_package(GTest REQUIRED)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)  # interop tests read our files with Python torch
endif()
