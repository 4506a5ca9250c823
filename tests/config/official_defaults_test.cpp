// Our job configs against the reference's own argparse defaults (fixtures written by
// scripts/reference/official_defaults.py from facebookresearch/mae's get_args_parser()).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "mae/config/config_file.h"
#include "mae/config/job_config.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;

json official_defaults(const std::string& job) {
  std::ifstream in(mae::test::source_dir() / "tests/fixtures/official_defaults" / (job + ".json"));
  return json::parse(in);
}

void expect_same_settings(const mae::config::JobConfig& config, const std::string& job) {
  const json ours = json::parse(mae::config::to_json(config));
  const json official = official_defaults(job);
  std::set<std::string> our_keys;
  std::set<std::string> official_keys;
  for (const auto& field : config.fields()) {
    if (!field.added_by_mae_cpp) {
      our_keys.insert(field.name);
    }
  }
  for (const auto& [key, value] : official.items()) {
    official_keys.insert(key);
  }
  EXPECT_EQ(our_keys, official_keys) << job;
  for (const auto& [key, value] : official.items()) {
    if (!ours.contains(key)) {
      continue;
    }
    if (value.is_number()) {  // argparse keeps `default=0` an int where our field is a float
      ASSERT_TRUE(ours[key].is_number()) << job << "." << key;
      EXPECT_DOUBLE_EQ(ours[key].get<double>(), value.get<double>()) << job << "." << key;
    } else {
      EXPECT_EQ(ours[key], value) << job << "." << key;
    }
  }
}

TEST(OfficialDefaults, PretrainMatchesMainPretrainPy) {
  expect_same_settings(mae::config::PretrainConfig{}, "pretrain");
}
TEST(OfficialDefaults, FinetuneMatchesMainFinetunePy) {
  expect_same_settings(mae::config::FinetuneConfig{}, "finetune");
}
TEST(OfficialDefaults, LinprobeMatchesMainLinprobePy) {
  expect_same_settings(mae::config::LinprobeConfig{}, "linprobe");
}

}  // namespace
