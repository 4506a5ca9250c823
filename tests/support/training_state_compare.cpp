#include "support/training_state_compare.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>

#include "mae/engine/checkpoint.h"

namespace mae::test {
namespace {

// The optimizer's state_dict: nested dicts and lists of tensors and numbers, compared exactly.
void expect_equal_values(const c10::IValue& a, const c10::IValue& b, const std::string& where) {
  if (a.isTensor() && b.isTensor()) {
    EXPECT_TRUE(at::equal(a.toTensor(), b.toTensor())) << where;
  } else if (a.isGenericDict() && b.isGenericDict()) {
    const auto left = a.toGenericDict();
    const auto right = b.toGenericDict();
    ASSERT_EQ(left.size(), right.size()) << where;
    for (const auto& entry : left) {
      const std::string key = entry.key().isString() ? entry.key().toStringRef()
                              : entry.key().isInt()  ? std::to_string(entry.key().toInt())
                                                     : entry.key().tagKind();
      ASSERT_TRUE(right.contains(entry.key())) << where << "/" << key;
      expect_equal_values(entry.value(), right.at(entry.key()), where + "/" + key);
    }
  } else if (a.isList() && b.isList()) {
    const auto left = a.toList();
    const auto right = b.toList();
    ASSERT_EQ(left.size(), right.size()) << where;
    for (std::size_t i = 0; i < left.size(); ++i) {
      expect_equal_values(left.get(i), right.get(i), where + "[" + std::to_string(i) + "]");
    }
  } else {
    EXPECT_EQ(a, b) << where;
  }
}

}  // namespace

void expect_same_training_state(const std::filesystem::path& expected, const std::filesystem::path& actual) {
  const auto a = engine::load_training_checkpoint(expected.string());
  const auto b = engine::load_training_checkpoint(actual.string());
  ASSERT_EQ(a.model.size(), b.model.size());
  for (std::size_t i = 0; i < a.model.size(); ++i) {
    EXPECT_EQ(a.model[i].first, b.model[i].first);
    EXPECT_TRUE(at::equal(a.model[i].second, b.model[i].second)) << a.model[i].first;
  }
  expect_equal_values(a.optimizer, b.optimizer, "optimizer");
  EXPECT_EQ(a.scaler.has_value(), b.scaler.has_value());
  EXPECT_EQ(a.epoch, b.epoch);
}

}  // namespace mae::test
