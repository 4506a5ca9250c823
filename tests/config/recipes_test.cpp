// Every file in configs/ is a valid configuration of its job (finetune_* or *_finetune.json, linprobe_* or
// *_linprobe.json, the rest pretraining).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "mae/config/config_file.h"
#include "mae/config/job_config.h"
#include "support/test_support.h"

namespace {

std::unique_ptr<mae::config::JobConfig> config_for(const std::string& file_name) {
  if (file_name.starts_with("finetune_") || file_name.ends_with("_finetune.json")) {
    return std::make_unique<mae::config::FinetuneConfig>();
  }
  if (file_name.starts_with("linprobe_") || file_name.ends_with("_linprobe.json")) {
    return std::make_unique<mae::config::LinprobeConfig>();
  }
  return std::make_unique<mae::config::PretrainConfig>();
}

TEST(Recipes, EveryConfigFileLoadsAndValidates) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(mae::test::source_dir() / "configs")) {
    const std::string name = entry.path().filename().string();
    auto config = config_for(name);
    EXPECT_NO_THROW({
      mae::config::apply_json_file(*config, entry.path().string());
      config->validate();
    }) << name;
    ++count;
  }
  EXPECT_GE(count, 10);
}

TEST(Recipes, OfficialRecipesAsPublished) {
  // PRETRAIN.md: ViT-L, norm_pix_loss, 800 epochs, blr 1.5e-4 (lr 2.4e-3 at effective batch 4096).
  mae::config::PretrainConfig pretrain;
  mae::config::apply_json_file(pretrain, (mae::test::source_dir() / "configs/vit_large.json").string());
  EXPECT_EQ(pretrain.model, "mae_vit_large_patch16");
  EXPECT_TRUE(pretrain.norm_pix_loss);
  EXPECT_EQ(pretrain.epochs, 800);
  EXPECT_DOUBLE_EQ(pretrain.blr * 4096 / 256, 2.4e-3);
  // FINETUNE.md linear probing: class token, BN head, blr 0.1.
  mae::config::LinprobeConfig linprobe;
  mae::config::apply_json_file(linprobe, (mae::test::source_dir() / "configs/linprobe_vit_base.json").string());
  EXPECT_FALSE(linprobe.global_pool);
  EXPECT_EQ(linprobe.epochs, 90);
  EXPECT_DOUBLE_EQ(linprobe.weight_decay, 0.0);
}

}  // namespace

namespace {

TEST(Docs, ConfigurationReferenceListsEveryFlag) {
  std::ifstream in(mae::test::source_dir() / "docs/configuration.md");
  const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const mae::config::PretrainConfig pretrain;
  const mae::config::FinetuneConfig finetune;
  const mae::config::LinprobeConfig linprobe;
  for (const mae::config::JobConfig* config :
       std::initializer_list<const mae::config::JobConfig*>{&pretrain, &finetune, &linprobe}) {
    for (const auto& field : config->fields()) {
      EXPECT_NE(doc.find("`--" + field.name + "`"), std::string::npos) << field.name;
    }
  }
}

}  // namespace
