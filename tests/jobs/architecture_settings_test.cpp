// --patch_size/--embed_dim/... and the decoder flags: resolution, validation, and what checkpoints record.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "mae/config/job_config.h"
#include "mae/engine/checkpoint.h"
#include "mae/engine/optimizer.h"
#include "mae/engine/param_groups.h"
#include "mae/io/pth_file.h"
#include "mae/io/safetensors.h"
#include "mae/jobs/architecture_settings.h"
#include "mae/jobs/config_args.h"
#include "mae/models/factory.h"
#include "mae/models/mae.h"
#include "mae/models/vit.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::config::ClassifierConfig;
using mae::config::FinetuneConfig;
using mae::config::PretrainConfig;
using namespace mae::engine;
using namespace mae::jobs;

// A narrow 32-px model described by flags on top of mae_vit_tiny_patch4.
PretrainConfig custom_pretrain() {
  PretrainConfig config;
  config.model = "mae_vit_tiny_patch4";
  config.input_size = 32;
  config.patch_size = 8;
  config.embed_dim = 64;
  config.depth = 2;
  config.num_heads = 4;
  config.decoder_depth = 1;
  return config;
}

// The message of the UsageError `body` throws; fails the test when it throws nothing.
template <typename Body>
std::string usage_error_of(Body body) {
  try {
    body();
  } catch (const mae::UsageError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no UsageError";
  return {};
}

TEST(ArchitectureSettings, FlagsOverrideTheModelAndAreWrittenBack) {
  PretrainConfig config = custom_pretrain();
  const auto options = resolve_mae_architecture(config);
  EXPECT_EQ(options.encoder.img_size, 32);
  EXPECT_EQ(options.encoder.patch_size, 8);
  EXPECT_EQ(options.encoder.embed_dim, 64);
  EXPECT_EQ(options.encoder.depth, 2);
  EXPECT_EQ(options.encoder.num_heads, 4);
  EXPECT_EQ(options.encoder.mlp_ratio, 4.0);
  EXPECT_EQ(options.decoder_embed_dim, 128);  // mae_vit_tiny_patch4's, not overridden
  EXPECT_EQ(options.decoder_depth, 1);
  // Unset settings now hold the model's values, so the checkpoint's args record the whole architecture.
  EXPECT_EQ(config.in_chans, 3);
  EXPECT_EQ(config.decoder_num_heads, 4);
  EXPECT_EQ(config.mlp_ratio, 4.0);
  const auto recorded = recorded_mae_architecture(config_as_dict(config));
  ASSERT_TRUE(recorded.has_value());
  EXPECT_EQ(mae::models::describe(*recorded), mae::models::describe(options));
  EXPECT_EQ(recorded->encoder.img_size, 32);
  // The defaults leave the official architecture untouched.
  PretrainConfig official;
  official.model = "mae_vit_base_patch16";
  const auto base = resolve_mae_architecture(official);
  EXPECT_EQ(mae::models::describe(base), mae::models::describe(mae::models::mae_architecture("mae_vit_base_patch16")));
}

TEST(ArchitectureSettings, ShapesThatCannotMakeAModelAreNamed) {
  PretrainConfig indivisible = custom_pretrain();
  indivisible.input_size = 30;
  EXPECT_NE(usage_error_of([&] { resolve_mae_architecture(indivisible); })
                .find("input size 30 is not divisible by patch size 8"),
            std::string::npos);
  PretrainConfig heads = custom_pretrain();
  heads.num_heads = 5;
  EXPECT_NE(usage_error_of([&] { resolve_mae_architecture(heads); }).find("embed_dim = 64 is not divisible by num_heads = 5"),
            std::string::npos);
  PretrainConfig sincos = custom_pretrain();
  sincos.embed_dim = 66;
  sincos.num_heads = 6;
  EXPECT_NE(usage_error_of([&] { resolve_mae_architecture(sincos); }).find("embed_dim = 66 must be divisible by 4"),
            std::string::npos);
  PretrainConfig decoder = custom_pretrain();
  decoder.decoder_num_heads = 3;
  EXPECT_NE(usage_error_of([&] { resolve_mae_architecture(decoder); })
                .find("decoder_embed_dim = 128 is not divisible by decoder_num_heads = 3"),
            std::string::npos);
  PretrainConfig channels = custom_pretrain();
  channels.in_chans = 2;
  EXPECT_NE(usage_error_of([&] { channels.validate(); }).find("invalid value for in_chans: 2"), std::string::npos);
  PretrainConfig grid = custom_pretrain();
  grid.mask_strategy = "grid";
  grid.mask_ratio = 0.5;
  EXPECT_NE(usage_error_of([&] { resolve_mae_architecture(grid); }).find("needs --mask_ratio 0.75"), std::string::npos);
  PretrainConfig nothing_removed = custom_pretrain();
  nothing_removed.mask_ratio = 0.0;  // the loss would average over no patch: NaN at step 0
  EXPECT_NE(usage_error_of([&] { resolve_mae_architecture(nothing_removed); }).find("--mask_ratio 0 removes none of"),
            std::string::npos);
  PretrainConfig huge = custom_pretrain();
  huge.input_size = 100000;
  EXPECT_NE(usage_error_of([&] { resolve_mae_architecture(huge); }).find("check --input_size and --patch_size"),
            std::string::npos);
}

TEST(ArchitectureSettings, ClassifierTakesTheEncoderFromThePretrainCheckpoint) {
  PretrainConfig pretrain = custom_pretrain();
  resolve_mae_architecture(pretrain);
  const c10::IValue args = config_as_dict(pretrain);

  FinetuneConfig plain;  // no --model, no shape flags: everything from the checkpoint
  const auto options = resolve_vit_architecture(plain, args, "ckpt.pth");
  EXPECT_EQ(plain.model, "vit_tiny_patch4");
  EXPECT_EQ(options.encoder.embed_dim, 64);
  EXPECT_EQ(options.encoder.patch_size, 8);
  EXPECT_EQ(options.encoder.img_size, 32);  // --input_size not given: the checkpoint's
  EXPECT_EQ(plain.input_size, 32);

  FinetuneConfig larger_input;  // fine-tuning at another resolution stays possible
  larger_input.input_size = 64;
  larger_input.given.insert("input_size");
  EXPECT_EQ(resolve_vit_architecture(larger_input, args, "ckpt.pth").encoder.img_size, 64);

  FinetuneConfig repeated;  // flags that agree with the checkpoint are fine
  repeated.embed_dim = 64;
  EXPECT_EQ(resolve_vit_architecture(repeated, args, "ckpt.pth").encoder.embed_dim, 64);

  FinetuneConfig clash;
  clash.model = "vit_small_patch16";
  clash.given.insert("model");
  const std::string message = usage_error_of([&] { resolve_vit_architecture(clash, args, "ckpt.pth"); });
  EXPECT_NE(message.find("ckpt.pth holds a model of patch_size 8, in_chans 3, embed_dim 64, depth 2, num_heads 4"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("ask for patch_size 16, in_chans 3, embed_dim 384, depth 12, num_heads 6"), std::string::npos)
      << message;

  FinetuneConfig wrong_flag;
  wrong_flag.depth = 3;
  EXPECT_NE(usage_error_of([&] { resolve_vit_architecture(wrong_flag, args, "ckpt.pth"); }).find("differ in depth"),
            std::string::npos);

  // Without a recorded architecture (a bare state dict), --model and the flags decide, as in the reference.
  FinetuneConfig none;
  none.model = "vit_base_patch16";
  EXPECT_EQ(mae::models::describe(resolve_vit_architecture(none, c10::IValue(), "weights.pth").encoder),
            mae::models::describe(mae::models::vit_architecture("vit_base_patch16").encoder));
}

TEST(ArchitectureSettings, OfficialArgsStandForTheirNamedModel) {
  auto args = c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get());
  args.insert("model", std::string("mae_vit_base_patch16"));
  args.insert("input_size", int64_t{224});
  args.insert("norm_pix_loss", true);
  const auto recorded = recorded_mae_architecture(args);
  ASSERT_TRUE(recorded.has_value());
  auto expected = mae::models::mae_architecture("mae_vit_base_patch16");
  expected.norm_pix_loss = true;
  EXPECT_EQ(mae::models::describe(*recorded), mae::models::describe(expected));
  auto unknown = c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get());
  unknown.insert("model", std::string("my_own_vit"));
  EXPECT_FALSE(recorded_encoder(unknown).has_value());
}

TEST(ArchitectureSettings, ResumingWithAnotherDecoderNamesTheDifference) {
  PretrainConfig written = custom_pretrain();
  resolve_mae_architecture(written);
  PretrainConfig resumed = custom_pretrain();
  resumed.decoder_depth = 2;
  resolve_mae_architecture(resumed);
  const std::string message = usage_error_of([&] { check_same_architecture(config_as_dict(written), resumed, "c.pth"); });
  EXPECT_NE(message.find("--resume c.pth was written by another architecture: decoder_depth 1 in the checkpoint, 2 in "
                         "this run"),
            std::string::npos)
      << message;
  EXPECT_NO_THROW(check_same_architecture(config_as_dict(written), written, "c.pth"));
}

struct OddSize {
  int input_size;
  int patch_size;
  int in_chans;
};

class OddSizes : public ::testing::TestWithParam<OddSize> {};

// Construction and one optimisation step of the MAE and of the classifier at sizes no official model has.
TEST_P(OddSizes, BuildAndTakeOneTrainingStep) {
  const auto [input_size, patch_size, in_chans] = GetParam();
  PretrainConfig pretrain;
  pretrain.model = "mae_vit_tiny_patch4";
  pretrain.input_size = input_size;
  pretrain.patch_size = patch_size;
  pretrain.in_chans = in_chans;
  pretrain.embed_dim = 32;
  pretrain.depth = 2;
  pretrain.num_heads = 2;
  pretrain.decoder_embed_dim = 16;
  pretrain.decoder_depth = 1;
  pretrain.decoder_num_heads = 2;
  torch::manual_seed(0);
  mae::models::MaskedAutoencoderViT mae_model(resolve_mae_architecture(pretrain));
  const auto images = torch::randn({2, in_chans, input_size, input_size});
  AdamW mae_optimizer(weight_decay_groups(*mae_model, 0.05), 1e-3, {0.9, 0.95});
  const auto out = mae_model->forward(images, 0.75);
  const int64_t patches = (input_size / patch_size) * (input_size / patch_size);
  EXPECT_EQ(out.pred.sizes(), (std::vector<int64_t>{2, patches, patch_size * patch_size * in_chans}));
  const auto before = mae_model->blocks[0]->named_parameters()["attn.qkv.weight"].clone();
  out.loss.backward();
  mae_optimizer.step();
  EXPECT_TRUE(torch::isfinite(out.loss).item<bool>());
  EXPECT_FALSE(torch::equal(before, mae_model->blocks[0]->named_parameters()["attn.qkv.weight"]));

  FinetuneConfig finetune;
  finetune.nb_classes = 3;
  mae::models::VisionTransformer vit(resolve_vit_architecture(finetune, config_as_dict(pretrain), "ckpt.pth"));
  AdamW vit_optimizer(layer_decay_groups(*vit, 2, 0.05, 0.75), 1e-3);
  const auto logits = vit->forward(images);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 3}));
  at::cross_entropy_loss(logits, torch::tensor({0, 2})).backward();
  vit_optimizer.step();
  EXPECT_TRUE(torch::isfinite(vit->head->weight).all().item<bool>());
}

INSTANTIATE_TEST_SUITE_P(Sizes, OddSizes,
                         ::testing::Values(OddSize{28, 4, 3}, OddSize{28, 7, 1}, OddSize{64, 8, 3}, OddSize{28, 4, 1}));

// A file without args (a released .pth, a bare state dict, a .safetensors file): the shape comes from the weights,
// --num_heads or width / 64 gives the heads, and a shape flag that contradicts the weights is refused naming it.
TEST(ArchitectureSettings, AFileWithoutArgsGivesItsShapeThroughItsWeights) {
  mae::test::TempDir dir;
  PretrainConfig pretrain = custom_pretrain();  // patch 8, width 64, depth 2, 4 heads, 32 px
  const auto options = resolve_mae_architecture(pretrain);
  mae::models::MaskedAutoencoderViT model(options);
  const auto weights = mae::models::state_dict(*model);
  const auto pth = (dir / "bare.pth").string();
  auto bare = c10::impl::GenericDict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, tensor] : weights) {
    bare.insert(name, tensor);
  }
  mae::io::save_pth(pth, bare);
  const auto safetensors = (dir / "weights.safetensors").string();
  mae::io::save_safetensors(safetensors, weights);
  for (const auto& path : {pth, safetensors}) {
    FinetuneConfig given_heads;
    given_heads.num_heads = 4;
    const auto vit = resolve_vit_architecture(given_heads, architecture_args_of(path, given_heads), path);
    EXPECT_EQ(vit.encoder.patch_size, 8) << path;
    EXPECT_EQ(vit.encoder.in_chans, 3) << path;
    EXPECT_EQ(vit.encoder.embed_dim, 64) << path;
    EXPECT_EQ(vit.encoder.depth, 2) << path;
    EXPECT_EQ(vit.encoder.num_heads, 4) << path;
    EXPECT_DOUBLE_EQ(vit.encoder.mlp_ratio, options.encoder.mlp_ratio) << path;
    EXPECT_EQ(vit.encoder.img_size, 32) << path;  // pos_embed's 4 x 4 grid of 8-pixel patches
    EXPECT_EQ(given_heads.input_size, 32) << path;

    FinetuneConfig guessed_heads;  // --model's default (width 1024) does not fit: width / 64
    EXPECT_EQ(resolve_vit_architecture(guessed_heads, architecture_args_of(path, guessed_heads), path).encoder.num_heads,
              1);

    FinetuneConfig contradiction;
    contradiction.depth = 3;
    const std::string error = usage_error_of(
        [&] { resolve_vit_architecture(contradiction, architecture_args_of(path, contradiction), path); });
    EXPECT_NE(error.find("They differ in depth"), std::string::npos) << error;
  }
}

// Issue #27: `mae_linprobe --model vit_tiny_patch4 --finetune gray.safetensors` (a 1-channel, 32-pixel model saved
// without args) was refused because --model's default of 3 channels counted as a setting: only flags the user gave
// may contradict the weights.
TEST(ArchitectureSettings, AWeightsOnlyFileKeepsItsChannelsUnderAGivenModel) {
  mae::test::TempDir dir;
  PretrainConfig gray;
  gray.model = "mae_vit_tiny_patch4";
  gray.input_size = 32;
  gray.in_chans = 1;
  const auto options = resolve_mae_architecture(gray);
  mae::models::MaskedAutoencoderViT model(options);
  const auto path = (dir / "gray.safetensors").string();
  mae::io::save_safetensors(path, mae::models::state_dict(*model));

  FinetuneConfig probe;
  probe.model = "vit_tiny_patch4";
  probe.given.insert("model");
  const auto vit = resolve_vit_architecture(probe, architecture_args_of(path, probe), path);
  EXPECT_EQ(vit.encoder.in_chans, 1);
  EXPECT_EQ(vit.encoder.img_size, 32);
  EXPECT_EQ(vit.encoder.embed_dim, 192);
  EXPECT_EQ(probe.in_chans, 1);  // recorded in the run's settings, and so in its checkpoints' args

  FinetuneConfig contradiction;  // a channel count the user gives must still match the weights
  contradiction.model = "vit_tiny_patch4";
  contradiction.given.insert("model");
  contradiction.in_chans = 3;
  const std::string error =
      usage_error_of([&] { resolve_vit_architecture(contradiction, architecture_args_of(path, contradiction), path); });
  EXPECT_NE(error.find("They differ in in_chans"), std::string::npos) << error;
}

}  // namespace
