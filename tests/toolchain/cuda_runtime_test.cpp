// Toolchain proof (e): the CUDA-enabled LibTorch loads and answers on a machine without a GPU, and the CUDA libraries
// it loads are the ones its wheel ships (see third_party/torch.cmake for why the system ones would be wrong).
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <fstream>
#include <string>

#include "mae/engine/runtime_info.h"

namespace {

// The file each loaded shared library whose path contains `name` was mapped from, or "" if none is loaded.
std::string loaded_library_path(const std::string& name) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash != std::string::npos && line.find(name, slash) != std::string::npos) {
      return line.substr(slash);
    }
  }
  return {};
}

TEST(CudaRuntime, AvailabilityQueryAnswersWithoutError) {
  bool available = true;
  ASSERT_NO_THROW(available = torch::cuda::is_available());
  EXPECT_EQ(available, torch::cuda::device_count() > 0);
  const std::string runtime = mae::engine::describe_runtime();
  EXPECT_NE(runtime.find(available ? "CUDA available" : "CUDA not available"), std::string::npos) << runtime;
}

TEST(CudaRuntime, CudaEnabledLibTorchIsLoaded) {
  // --no-as-needed kept libtorch_cuda on the link line; without it CUDA would silently be unavailable on a GPU.
  EXPECT_NE(loaded_library_path("libtorch_cuda.so"), "");
}

#if MAE_EXPECT_WHEEL_CUDA_LIBS
TEST(CudaRuntime, CudaLibrariesComeFromTheTorchWheel) {
  for (const std::string library : {"libcudart.so.13", "libnccl.so.2", "libcudnn.so.9", "libcublas.so.13"}) {
    const std::string path = loaded_library_path(library);
    ASSERT_NE(path, "") << library << " is not loaded";
    EXPECT_NE(path.find("/nvidia/"), std::string::npos) << library << " was loaded from " << path;
  }
}
#endif

}  // namespace
