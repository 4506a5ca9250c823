#pragma once
#include <string>

namespace mae::engine {

// One line for the start of every job: LibTorch version, CPU threads, and whether CUDA is usable. Safe on a machine
// without a GPU (CUDA initialises lazily, and the query reports "no" instead of failing).
std::string describe_runtime();

}  // namespace mae::engine
