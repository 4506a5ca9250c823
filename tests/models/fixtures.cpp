#include "fixtures.h"

#include <ATen/ATen.h>

#include <iostream>

#include "mae/io/pth_file.h"
#include "support/test_support.h"

namespace mae::test {

c10::impl::GenericDict load_model_fixture(const std::string& name) {
  return io::load_pth((source_dir() / "tests/fixtures/models" / (name + ".pth")).string()).toGenericDict();
}

models::NamedTensors named_tensors(const c10::IValue& state_dict) {
  models::NamedTensors tensors;
  for (const auto& entry : state_dict.toGenericDict()) {
    tensors.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
  }
  return tensors;
}

int64_t config_int(const c10::impl::GenericDict& fixture, const std::string& key) {
  return fixture.at("config").toGenericDict().at(key).toInt();
}

::testing::AssertionResult matches_reference(const at::Tensor& actual, const at::Tensor& expected,
                                             const std::string& what, double relative_tolerance) {
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure() << what << ": shape " << actual.sizes() << " vs reference "
                                         << expected.sizes();
  }
  const at::Tensor a = actual.detach().to(at::kDouble);
  const at::Tensor e = expected.detach().to(at::kDouble);
  const double error = (a - e).abs().max().item<double>();
  const double scale = std::max(1.0, e.abs().max().item<double>());
  const double bound = relative_tolerance * scale;
  std::cout << "[parity] " << what << ": max abs error " << error << " (bound " << bound << ")\n";
  if (error <= bound) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << what << ": max abs error " << error << " exceeds " << bound;
}

}  // namespace mae::test
