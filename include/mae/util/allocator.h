#pragma once
// glibc malloc settings for training on the CPU. A ViT step allocates and frees activation buffers of tens of MB
// every iteration; by default glibc serves those above its mmap threshold (at most 32 MB) with fresh mmap()s, so the
// kernel zero-fills every page again each step (perf: ~12 % of a ViT-B fine-tuning step in clear_page and page
// faults). Keeping them in the heap reuses the pages: the ViT-B fine-tuning step goes from 8.1 s to 6.2 s on 2 cores
// with the same peak RSS (docs/BENCHMARKS.md). Nor is the heap's free top ever handed back: the backward pass frees
// gigabytes at once, and a trim then would make the next forward fault and zero-fill them all again (3 % of a ViT-B
// pre-training step); the process is back at its peak every step anyway.
namespace mae {

// Sets M_MMAP_THRESHOLD to 256 MiB and turns trimming off (M_TRIM_THRESHOLD -1), unless the user set
// MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_ in the environment (then glibc's reading of those stands). Call
// once at program start.
void tune_allocator_for_training();

}  // namespace mae
