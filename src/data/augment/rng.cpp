#include "mae/data/augment/rng.h"

namespace mae::data {
namespace {

// splitmix64: decorrelates nearby (seed, epoch, index) triples before they seed the engine.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

Rng::Rng(uint64_t seed, uint64_t epoch, uint64_t sample_index)
    : engine_(mix(mix(mix(seed) ^ epoch) ^ sample_index)) {}

double Rng::uniform(double low, double high) { return std::uniform_real_distribution<double>(low, high)(engine_); }

int64_t Rng::randint(int64_t low, int64_t high_exclusive) {
  return std::uniform_int_distribution<int64_t>(low, high_exclusive - 1)(engine_);
}

bool Rng::bernoulli(double p) { return uniform(0.0, 1.0) < p; }

double Rng::normal(double mean, double std) { return std::normal_distribution<double>(mean, std)(engine_); }

double Rng::beta(double alpha, double beta) {
  const double x = std::gamma_distribution<double>(alpha, 1.0)(engine_);
  const double y = std::gamma_distribution<double>(beta, 1.0)(engine_);
  return x / (x + y);
}

uint64_t Rng::bits() { return engine_(); }

}  // namespace mae::data
