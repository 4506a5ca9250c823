# OpenCV core, imgproc and imgcodecs for the data layer. Debian ships OpenCVConfig.cmake only in the full
# libopencv-dev (which pulls in GUI toolkits); scripts/setup.sh installs just the three module packages, which have
# the headers and libraries but no CMake config, so fall back to finding those directly.
find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs)
if(NOT OpenCV_FOUND)
  find_path(MAE_OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
  set(OpenCV_INCLUDE_DIRS ${MAE_OPENCV_INCLUDE_DIR})
  set(OpenCV_LIBS)
  foreach(module core imgproc imgcodecs)
    find_library(MAE_OPENCV_${module}_LIBRARY opencv_${module} REQUIRED)
    list(APPEND OpenCV_LIBS ${MAE_OPENCV_${module}_LIBRARY})
  endforeach()
  message(STATUS "mae-cpp: OpenCV from ${MAE_OPENCV_INCLUDE_DIR} (core, imgproc, imgcodecs)")
endif()
