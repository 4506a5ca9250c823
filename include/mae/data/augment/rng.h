#pragma once
// Per-sample random streams. Every random decision of the data pipeline draws from the stream of
// (seed, epoch, sample index), so a run gives the same batches whatever the number of worker threads, and a resumed
// run continues the same streams.
#include <cstdint>
#include <random>

namespace mae::data {

class Rng {
 public:
  Rng(uint64_t seed, uint64_t epoch, uint64_t sample_index);

  double uniform(double low, double high);           // [low, high)
  int64_t randint(int64_t low, int64_t high_exclusive);  // torch.randint(low, high): [low, high)
  bool bernoulli(double p);                           // true with probability p
  double normal(double mean, double std);
  double beta(double alpha, double beta);  // numpy.random.beta
  uint64_t bits();                          // 64 random bits (to seed a torch generator for bulk draws)

 private:
  std::mt19937_64 engine_;
};

}  // namespace mae::data
