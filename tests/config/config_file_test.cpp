#include "mae/config/config_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "mae/config/job_config.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::UsageError;
using mae::config::apply_json;
using mae::config::FinetuneConfig;
using mae::config::PretrainConfig;

// The UsageError message apply_json throws, or "" when it accepts the text.
template <typename Config>
std::string json_error(const std::string& text) {
  Config config;
  try {
    apply_json(config, text, "test.json");
  } catch (const UsageError& error) {
    return error.what();
  }
  return "";
}

TEST(ConfigFile, AppliesEveryKindOfValue) {
  FinetuneConfig config;
  apply_json(config, R"({"batch_size": 32, "blr": 5e-4, "model": "vit_base_patch16", "dist_eval": true,
                         "clip_grad": 3.0, "cutmix_minmax": [0.2, 0.8], "lr": null})",
             "test.json");
  EXPECT_EQ(config.batch_size, 32);
  EXPECT_DOUBLE_EQ(config.blr, 5e-4);
  EXPECT_EQ(config.model, "vit_base_patch16");
  EXPECT_TRUE(config.dist_eval);
  ASSERT_TRUE(config.clip_grad.has_value());
  EXPECT_DOUBLE_EQ(*config.clip_grad, 3.0);
  EXPECT_EQ(config.cutmix_minmax, (std::vector<double>{0.2, 0.8}));
  EXPECT_FALSE(config.lr.has_value());
}

TEST(ConfigFile, NegationKeyMeansWhatItsFlagMeans) {
  FinetuneConfig config;
  ASSERT_TRUE(config.global_pool);
  apply_json(config, R"({"cls_token": true})", "test.json");
  EXPECT_FALSE(config.global_pool);
  PretrainConfig pretrain;
  apply_json(pretrain, R"({"no_pin_mem": true})", "test.json");
  EXPECT_FALSE(pretrain.pin_mem);
}

TEST(ConfigFile, UnknownKeyIsNamedWithTheClosestValidKey) {
  EXPECT_EQ(json_error<PretrainConfig>(R"({"mask_ratoi": 0.5})"),
            "test.json: unknown key 'mask_ratoi' (did you mean 'mask_ratio'?)");
  // A finetune-only key in a pretrain file is unknown there.
  EXPECT_NE(json_error<PretrainConfig>(R"({"layer_decay": 0.65})").find("unknown key 'layer_decay'"),
            std::string::npos);
  EXPECT_EQ(json_error<PretrainConfig>(R"({"zzzzzzzz": 1})"), "test.json: unknown key 'zzzzzzzz'");
}

TEST(ConfigFile, WrongTypesAreRejectedWithKeyAndValue) {
  EXPECT_EQ(json_error<PretrainConfig>(R"({"batch_size": "64"})"),
            "test.json: key 'batch_size' must be an integer, got \"64\"");
  EXPECT_EQ(json_error<PretrainConfig>(R"({"batch_size": 6.5})"),
            "test.json: key 'batch_size' must be an integer, got 6.5");
  EXPECT_EQ(json_error<PretrainConfig>(R"({"norm_pix_loss": 1})"),
            "test.json: key 'norm_pix_loss' must be true or false, got 1");
  EXPECT_EQ(json_error<PretrainConfig>(R"({"model": 3})"), "test.json: key 'model' must be a string, got 3");
}

TEST(ConfigFile, MalformedDocumentsAreRejected) {
  EXPECT_NE(json_error<PretrainConfig>("{\"batch_size\": 64,").find("test.json: not valid JSON"), std::string::npos);
  // A number no double holds is the file's fault too: a usage error naming the file, not a failure.
  EXPECT_NE(json_error<PretrainConfig>("{\"blr\": 1e400}").find("test.json: not valid JSON"), std::string::npos);
  EXPECT_NE(json_error<PretrainConfig>("[1, 2]").find("expected a JSON object"), std::string::npos);
}

TEST(ConfigFile, MissingFileIsNamed) {
  PretrainConfig config;
  try {
    mae::config::apply_json_file(config, "/no/such/config.json");
    FAIL();
  } catch (const UsageError& error) {
    EXPECT_STREQ(error.what(), "config file '/no/such/config.json' cannot be read: no such file");
  }
}

TEST(ConfigFile, ResolvedConfigRoundTrips) {
  mae::test::TempDir dir;
  FinetuneConfig config;
  config.batch_size = 16;
  config.global_pool = false;
  config.cutmix_minmax = std::vector<double>{0.1, 0.9};
  const std::string path = mae::config::write_resolved_config(config, (dir / "out/nested").string());
  EXPECT_EQ(path, (dir / "out/nested/config.json").string());
  FinetuneConfig reread;
  mae::config::apply_json_file(reread, path);
  EXPECT_EQ(mae::config::to_json(reread), mae::config::to_json(config));
  EXPECT_EQ(reread.batch_size, 16);
  EXPECT_FALSE(reread.global_pool);
}

}  // namespace
