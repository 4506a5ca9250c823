# Without an explicit list, Caffe2's CMake try-runs a GPU probe, which fails to configure on a machine without a GPU.
# 9.0 is Hopper (H100/H200); we compile no .cu files of our own today, so this only silences the probe.
if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(ENV{TORCH_CUDA_ARCH_LIST} "9.0")
endif()

# A build folder remembers the LibTorch it was configured with (Torch_DIR in its cache), and find_package keeps that
# one even when a later -DCMAKE_PREFIX_PATH names another: refuse, rather than silently build against the old one.
if(Torch_DIR AND CMAKE_PREFIX_PATH)
  file(REAL_PATH "${Torch_DIR}" mae_cached_torch_dir)
  set(mae_cached_torch_named FALSE)
  foreach(mae_prefix IN LISTS CMAKE_PREFIX_PATH)
    file(REAL_PATH "${mae_prefix}" mae_prefix_real)
    string(FIND "${mae_cached_torch_dir}/" "${mae_prefix_real}/" mae_position)
    if(mae_position EQUAL 0)
      set(mae_cached_torch_named TRUE)
    endif()
  endforeach()
  if(NOT mae_cached_torch_named)
    message(FATAL_ERROR "mae-cpp: this build folder (${CMAKE_BINARY_DIR}) was configured with the LibTorch at "
                        "${Torch_DIR}, but CMAKE_PREFIX_PATH now names ${CMAKE_PREFIX_PATH}. Configure a fresh build "
                        "folder for the other LibTorch, e.g. MAE_BUILD_DIR=build-cluster bash scripts/build.sh "
                        "-DCMAKE_PREFIX_PATH=${CMAKE_PREFIX_PATH}")
  endif()
endif()

# LibTorch: a folder the user names with -DCMAKE_PREFIX_PATH (a cluster's LibTorch), else the installed PyPI wheel.
find_package(Torch QUIET CONFIG)
if(NOT Torch_FOUND)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  execute_process(COMMAND ${Python3_EXECUTABLE} -c "import torch; print(torch.utils.cmake_prefix_path)"
                  OUTPUT_VARIABLE MAE_TORCH_CMAKE_PREFIX OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE MAE_TORCH_FOUND_BY_PYTHON)
  if(NOT MAE_TORCH_FOUND_BY_PYTHON EQUAL 0)
    message(FATAL_ERROR "LibTorch not found: run scripts/setup.sh (installs the pinned torch wheel) "
                        "or pass -DCMAKE_PREFIX_PATH=/path/to/libtorch")
  endif()
  list(APPEND CMAKE_PREFIX_PATH "${MAE_TORCH_CMAKE_PREFIX}")
  find_package(Torch REQUIRED CONFIG)
endif()
message(STATUS "mae-cpp: LibTorch ${Torch_VERSION} at ${TORCH_INSTALL_PREFIX}")

# The wheel's libtorch_cuda.so needs the CUDA, cuDNN and NCCL libraries of the pip `nvidia-*` packages beside it
# (site-packages/nvidia/*/lib). The system ones (/usr/local/cuda) have the same sonames but other versions: the
# system NCCL 2.28 lacks symbols that the wheel's libtorch_cuda calls (ncclPutSignal, ...), so linking against it
# fails and loading it would be wrong. Search the wheel's set first, at link time and at run time.
file(GLOB MAE_WHEEL_CUDA_LIB_DIRS LIST_DIRECTORIES true "${TORCH_INSTALL_PREFIX}/../nvidia/*/lib")

# One interface target carries everything a torch-using target needs, so every such target compiles with identical
# flags and can share the one precompiled header (REUSE_FROM demands identical flags).
add_library(mae_torch INTERFACE)
target_link_libraries(mae_torch INTERFACE torch)
# Gloo is compiled into libtorch_cpu; its headers come from Debian's libgloo-dev (the wheel ships none).
target_compile_definitions(mae_torch INTERFACE USE_C10D_GLOO)
if(MAE_WHEEL_CUDA_LIB_DIRS)
  list(JOIN MAE_WHEEL_CUDA_LIB_DIRS ":" MAE_WHEEL_CUDA_RPATH)
  target_link_options(mae_torch INTERFACE "LINKER:-rpath-link,${MAE_WHEEL_CUDA_RPATH}")
  set(CMAKE_BUILD_RPATH "${MAE_WHEEL_CUDA_LIB_DIRS}")
  set(CMAKE_INSTALL_RPATH "${MAE_WHEEL_CUDA_LIB_DIRS};${TORCH_INSTALL_PREFIX}/lib")
endif()

# The precompiled header every torch-using target reuses: it turns ~20 s per translation unit into a few.
add_library(mae_torch_pch STATIC ${PROJECT_SOURCE_DIR}/src/util/torch_pch.cpp)
target_link_libraries(mae_torch_pch PUBLIC mae_torch)
target_precompile_headers(mae_torch_pch PRIVATE <torch/torch.h> <string> <vector> <memory> <optional>)

# Gives a torch-using target the torch flags and the shared precompiled header.
function(mae_use_torch target)
  target_link_libraries(${target} PUBLIC mae_torch)
  target_precompile_headers(${target} REUSE_FROM mae_torch_pch)
endfunction()
