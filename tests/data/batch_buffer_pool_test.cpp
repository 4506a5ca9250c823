#include <gtest/gtest.h>

#include <torch/torch.h>

#include "mae/data/folder/batch_buffer_pool.h"

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

namespace {

// A pinned batch whose copy to the GPU is still queued behind other work must not be handed out again, or the next
// batch would be written into memory the copy has not read yet.
TEST(BatchBufferPool, APinnedBatchIsNotReusedWhileItsCopyToTheGpuIsPending) {
  if (!torch::cuda::is_available()) {
    GTEST_SKIP() << "no GPU on this machine";
  }
  mae::data::BatchBufferPool pool(4);
  at::Tensor batch = pool.acquire({64, 3, 224, 224}, true);
  ASSERT_TRUE(batch.is_pinned());
  batch.fill_(1.0F);
  // Keep the stream busy so that the copy below is still pending when the host lets go of the batch.
  const at::Tensor busy = torch::randn({4096, 4096}, torch::kCUDA);
  for (int i = 0; i < 20; ++i) {
    busy.matmul(busy);
  }
  const at::Tensor on_gpu = batch.to(torch::kCUDA, /*non_blocking=*/true);
  const void* pending = batch.data_ptr();
  batch.reset();
  at::Tensor next = pool.acquire({64, 3, 224, 224}, true);
  EXPECT_NE(next.data_ptr(), pending) << "the block was handed out while its copy was queued";
  next.fill_(2.0F);
  EXPECT_EQ(on_gpu.min().item<float>(), 1.0F);  // the copy read the first batch's values
}

}  // namespace
