#pragma once
// glibc malloc settings for training on the CPU. A ViT step allocates and frees activation buffers of tens of MB
// every iteration; by default glibc serves those above its mmap threshold (at most 32 MB) with fresh mmap()s, so the
// kernel zero-fills every page again each step (perf: ~12 % of a ViT-B fine-tuning step in clear_page and page
// faults). Keeping them in the heap reuses the pages: the ViT-B fine-tuning step goes from 8.1 s to 6.2 s on 2 cores
// with the same peak RSS (docs/BENCHMARKS.md).
namespace mae {

// Sets M_MMAP_THRESHOLD to 256 MiB and M_TRIM_THRESHOLD to 1 GiB, unless the user set MALLOC_MMAP_THRESHOLD_ or
// MALLOC_TRIM_THRESHOLD_ in the environment (then glibc's reading of those stands). Call once at program start.
void tune_allocator_for_training();

}  // namespace mae
