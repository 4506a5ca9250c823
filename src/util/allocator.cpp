#include "mae/util/allocator.h"

#include <malloc.h>

#include <cstdlib>

namespace mae {

void tune_allocator_for_training() {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
  }
  if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) {
    mallopt(M_TRIM_THRESHOLD, -1);  // never: see the header
  }
}

}  // namespace mae
