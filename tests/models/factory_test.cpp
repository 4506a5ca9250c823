#include <gtest/gtest.h>

#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "mae/models/factory.h"
#include "mae/models/mae.h"
#include "mae/models/state_dict.h"
#include "mae/models/vit.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::models::mae_architecture;
using mae::models::vit_architecture;

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& parameter : module.parameters()) {
    count += parameter.numel();
  }
  return count;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> names_and_shapes(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> listing;
  for (const auto& [name, tensor] : mae::models::state_dict(module)) {
    listing.emplace_back(name, tensor.sizes().vec());
  }
  return listing;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> reference_listing(const std::string& key) {
  std::ifstream in(mae::test::source_dir() / "tests/fixtures/models/names_and_shapes.json");
  const auto json = nlohmann::json::parse(in);
  std::vector<std::pair<std::string, std::vector<int64_t>>> listing;
  for (const auto& entry : json.at(key)) {
    listing.emplace_back(entry.at(0).get<std::string>(), entry.at(1).get<std::vector<int64_t>>());
  }
  return listing;
}

TEST(ModelFactory, BaseModelsHaveTheReferenceNamesShapesAndOrder) {
  mae::models::MaskedAutoencoderViT mae(mae_architecture("mae_vit_base_patch16"));
  EXPECT_EQ(names_and_shapes(*mae), reference_listing("mae_vit_base_patch16"));
  for (const bool global_pool : {true, false}) {
    auto options = vit_architecture("vit_base_patch16");
    options.global_pool = global_pool;
    mae::models::VisionTransformer vit(options);
    EXPECT_EQ(names_and_shapes(*vit),
              reference_listing(std::string("vit_base_patch16_") + (global_pool ? "global_pool" : "cls_token")));
  }
}

struct Counted {
  const char* mae_name;
  int64_t mae_parameters;  // fixed sin-cos tables included
  int64_t classifier_parameters;  // 1000 classes, global pooling
};

class OfficialParameterCounts : public ::testing::TestWithParam<Counted> {};

TEST_P(OfficialParameterCounts, MatchTheReference) {
  const Counted& expected = GetParam();
  {
    mae::models::MaskedAutoencoderViT mae(mae_architecture(expected.mae_name));
    EXPECT_EQ(parameter_count(*mae), expected.mae_parameters);
  }
  mae::models::VisionTransformer vit(vit_architecture(std::string(expected.mae_name).substr(4)));
  EXPECT_EQ(parameter_count(*vit), expected.classifier_parameters);
}

INSTANTIATE_TEST_SUITE_P(Models, OfficialParameterCounts,
                         ::testing::Values(Counted{"mae_vit_base_patch16", 111'907'840, 86'567'656},
                                           Counted{"mae_vit_large_patch16", 329'541'888, 304'326'632},
                                           Counted{"mae_vit_huge_patch14", 657'074'508, 632'045'800}));

TEST(ModelFactory, NamesAliasesAndSuggestions) {
  EXPECT_EQ(mae_architecture("mae_vit_large_patch16_dec512d8b").encoder.embed_dim, 1024);
  EXPECT_EQ(mae_architecture("mae_vit_huge_patch14").encoder.patch_size, 14);
  EXPECT_EQ(vit_architecture("vit_huge_patch14").encoder.depth, 32);
  EXPECT_EQ(mae_architecture("mae_vit_tiny_patch4").encoder.img_size, 32);
  EXPECT_THROW(mae_architecture("mae_vit_tiny_patch4_dec512d8b"), mae::UsageError);
  const std::string error = mae::test::error_of<mae::UsageError>([] { vit_architecture("vit_large_patch14"); });
  EXPECT_NE(error.find("unknown model 'vit_large_patch14' (did you mean 'vit_large_patch16'?)"), std::string::npos)
      << error;
  for (const auto& name : mae::models::mae_architecture_names()) {
    EXPECT_NO_THROW(mae::models::validate(mae_architecture(name))) << name;
  }
}

TEST(ModelFactory, OptionsThatCannotMakeAModelAreRejected) {
  auto options = mae_architecture("mae_vit_tiny_patch4");
  options.encoder.img_size = 30;
  EXPECT_THROW(mae::models::MaskedAutoencoderViT{options}, mae::UsageError);
  options = mae_architecture("mae_vit_tiny_patch4");
  options.encoder.num_heads = 5;
  EXPECT_THROW(mae::models::MaskedAutoencoderViT{options}, mae::UsageError);
  options = mae_architecture("mae_vit_tiny_patch4");
  options.decoder_embed_dim = 130;  // divisible by its 2 heads, not usable for the sin-cos table
  options.decoder_num_heads = 2;
  EXPECT_THROW(mae::models::MaskedAutoencoderViT{options}, mae::UsageError);
}

}  // namespace
