#pragma once
// Access to the model parity fixtures written by scripts/reference/make_model_fixtures.py.
#include <ATen/core/Dict.h>
#include <ATen/core/Tensor.h>
#include <gtest/gtest.h>

#include <string>

#include "mae/models/state_dict.h"

namespace mae::test {

// tests/fixtures/models/<name>.pth as a dict.
c10::impl::GenericDict load_model_fixture(const std::string& name);

// A {name: tensor} dict of a fixture (a state dict) as NamedTensors.
models::NamedTensors named_tensors(const c10::IValue& state_dict);

int64_t config_int(const c10::impl::GenericDict& fixture, const std::string& key);

// The parity rule: max |actual - expected| <= 1e-5 * max(1, max |expected|). Prints the measured error so
// the figures can be reported.
::testing::AssertionResult matches_reference(const at::Tensor& actual, const at::Tensor& expected,
                                             const std::string& what, double relative_tolerance = 1e-5);

}  // namespace mae::test
