#include <gtest/gtest.h>

#include <torch/torch.h>

#include "mae/engine/checkpoint.h"
#include "mae/engine/pretrained.h"
#include "mae/io/safetensors.h"
#include "mae/models/mae.h"
#include "mae/models/pos_embed.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::engine::load_pretrained_encoder;

mae::models::MaeOptions pretrain_dims(int64_t width = 32) {
  return {{32, 8, 3, width, 2, 4, 4.0}, 16, 1, 2};  // encoder, decoder width/depth/heads
}

mae::models::VitOptions classifier_dims(int64_t img_size, bool global_pool, int64_t classes = 5) {
  mae::models::VitOptions options;
  options.encoder = {img_size, 8, 3, 32, 2, 4, 4.0};
  options.num_classes = classes;
  options.global_pool = global_pool;
  return options;
}

// Writes a pre-training checkpoint of a fresh MAE and returns it with its path.
std::pair<mae::models::MaskedAutoencoderViT, std::string> pretrained(const mae::test::TempDir& dir,
                                                                     int64_t width = 32) {
  torch::manual_seed(7);
  mae::models::MaskedAutoencoderViT mae_model(pretrain_dims(width));
  mae::engine::TrainingState state;
  state.model = mae::models::state_dict(*mae_model);
  state.epoch = 799;
  const auto path = (dir / "checkpoint-799.pth").string();
  mae::engine::save_training_checkpoint(path, state);
  return {mae_model, path};
}

std::string load_error(mae::models::VisionTransformer& model, const std::string& path) {
  return mae::test::error_of<mae::UsageError>([&] { load_pretrained_encoder(*model, path, 2e-5); });
}

TEST(PretrainedEncoder, GlobalPoolClassifierAtAnotherResolution) {
  mae::test::TempDir dir;
  auto [mae_model, path] = pretrained(dir);
  mae::models::VisionTransformer model(classifier_dims(48, true));
  const auto load = load_pretrained_encoder(*model, path, 2e-5);
  EXPECT_TRUE(load.pos_embed_interpolated);
  EXPECT_FALSE(load.head_dropped);
  for (const std::string name : {"decoder_embed.weight", "mask_token", "norm.weight", "decoder_pos_embed"}) {
    EXPECT_NE(std::find(load.unexpected_keys.begin(), load.unexpected_keys.end(), name), load.unexpected_keys.end())
        << name;
  }
  EXPECT_TRUE(torch::equal(model->pos_embed, mae::models::interpolate_pos_embed(mae_model->pos_embed, 1, 6)));
  EXPECT_TRUE(torch::equal(model->blocks[1]->as<mae::models::BlockImpl>()->attn->qkv->weight,
                           mae_model->blocks[1]->as<mae::models::BlockImpl>()->attn->qkv->weight));
  EXPECT_TRUE(torch::equal(model->cls_token, mae_model->cls_token));
  // The head is re-initialised with std 2e-5, its bias stays zero.
  EXPECT_NEAR(model->head->weight.std().item<double>(), 2e-5, 1e-5);
  EXPECT_TRUE(torch::equal(model->head->bias, torch::zeros({5})));
}

TEST(PretrainedEncoder, ClassTokenClassifierKeepsTheEncoderNorm) {
  mae::test::TempDir dir;
  auto [mae_model, path] = pretrained(dir);
  mae::models::VisionTransformer model(classifier_dims(32, false));
  const auto load = load_pretrained_encoder(*model, path, 0.01);
  EXPECT_FALSE(load.pos_embed_interpolated);
  EXPECT_TRUE(torch::equal(model->norm->weight, mae_model->norm->weight));
  EXPECT_TRUE(torch::equal(model->pos_embed, mae_model->pos_embed));
  EXPECT_NEAR(model->head->weight.std().item<double>(), 0.01, 0.004);
}

TEST(PretrainedEncoder, SafetensorsWeightsWork) {
  mae::test::TempDir dir;
  torch::manual_seed(8);
  mae::models::MaskedAutoencoderViT mae_model(pretrain_dims());
  const auto path = (dir / "encoder.safetensors").string();
  mae::io::save_safetensors(path, mae::models::state_dict(*mae_model));
  mae::models::VisionTransformer model(classifier_dims(32, true));
  load_pretrained_encoder(*model, path, 2e-5);
  EXPECT_TRUE(torch::equal(model->patch_embed->proj->weight, mae_model->patch_embed->proj->weight));
}

TEST(PretrainedEncoder, AnotherModelSizeListsTheMismatchedShapes) {
  mae::test::TempDir dir;
  const auto path = pretrained(dir, 48).second;
  mae::models::VisionTransformer model(classifier_dims(32, true));
  const std::string error = load_error(model, path);
  EXPECT_NE(error.find("checkpoint-799.pth: checkpoint does not fit the model"), std::string::npos) << error;
  EXPECT_NE(error.find("'cls_token' has shape [1, 1, 48] in the checkpoint and [1, 1, 32] in the model"),
            std::string::npos)
      << error;
}

TEST(PretrainedEncoder, MissingEncoderWeightsAreListed) {
  mae::test::TempDir dir;
  torch::manual_seed(9);
  mae::models::MaskedAutoencoderViT mae_model(pretrain_dims());
  mae::engine::TrainingState state;
  for (auto& named : mae::models::state_dict(*mae_model)) {
    if (!named.first.starts_with("blocks.1.")) {
      state.model.push_back(named);
    }
  }
  const auto path = (dir / "partial.pth").string();
  mae::engine::save_training_checkpoint(path, state);
  mae::models::VisionTransformer model(classifier_dims(32, true));
  const std::string error = load_error(model, path);
  EXPECT_NE(error.find("the checkpoint lacks encoder weights the model needs: blocks.1.norm1.weight"),
            std::string::npos)
      << error;
}

TEST(PretrainedEncoder, AFineTunedCheckpointIsRefusedAndAForeignHeadDropped) {
  mae::test::TempDir dir;
  mae::models::VisionTransformer finetuned(classifier_dims(32, true));
  mae::engine::TrainingState state;
  state.model = mae::models::state_dict(*finetuned);
  const auto path = (dir / "finetuned.pth").string();
  mae::engine::save_training_checkpoint(path, state);
  mae::models::VisionTransformer same(classifier_dims(32, true));
  EXPECT_NE(load_error(same, path).find("already has classifier weights (fc_norm.bias, fc_norm.weight, head.bias, "
                                        "head.weight)"),
            std::string::npos)
      << load_error(same, path);

  // A class-token classifier with 10 classes into a 5-class one: the head is dropped, `norm` is unexpected.
  mae::models::VisionTransformer other(classifier_dims(32, false, 10));
  state.model = mae::models::state_dict(*other);
  mae::engine::save_training_checkpoint(path, state);
  mae::models::VisionTransformer cls_model(classifier_dims(32, false));
  const auto load = load_pretrained_encoder(*cls_model, path, 2e-5);
  EXPECT_TRUE(load.head_dropped);
}

}  // namespace
