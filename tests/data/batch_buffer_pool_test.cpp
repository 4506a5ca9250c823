#include <gtest/gtest.h>

#include <torch/torch.h>

#include "mae/data/batch_buffer_pool.h"

namespace {

using mae::data::BatchBufferPool;

TEST(BatchBufferPool, ReusesABufferOnlyOnceNothingReferencesIt) {
  BatchBufferPool pool(2);
  at::Tensor first = pool.acquire({2, 3}, false);
  const void* first_memory = first.data_ptr();
  at::Tensor second = pool.acquire({2, 3}, false);
  EXPECT_NE(second.data_ptr(), first_memory) << "a buffer still held was handed out again";

  at::Tensor view = first.narrow(0, 0, 1);  // a view keeps the storage in use
  first.reset();
  EXPECT_NE(pool.acquire({2, 3}, false).data_ptr(), first_memory) << "a buffer with a live view was reused";
  view.reset();
  EXPECT_EQ(pool.acquire({2, 3}, false).data_ptr(), first_memory) << "a free buffer was not reused";
  EXPECT_NE(pool.acquire({1, 3}, false).data_ptr(), first_memory) << "another shape must not reuse it";
}

TEST(BatchBufferPool, KeepsNoMoreThanItsCapacity) {
  BatchBufferPool pool(1);
  at::Tensor kept = pool.acquire({4}, false);
  const void* kept_memory = kept.data_ptr();
  at::Tensor extra = pool.acquire({4}, false);  // over capacity: not pooled
  kept.reset();
  extra.reset();
  at::Tensor again = pool.acquire({4}, false);
  EXPECT_EQ(again.data_ptr(), kept_memory);
  at::Tensor next = pool.acquire({4}, false);
  EXPECT_NE(next.data_ptr(), kept_memory) << "the one pooled buffer is in use";
}

}  // namespace
