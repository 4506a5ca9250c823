#include "cli/command_line.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "mae/config/config_file.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::apps::parse_command_line;
using mae::apps::ParseResult;
using mae::config::FinetuneConfig;
using mae::config::PretrainConfig;

const mae::apps::Program kProgram{"mae_test", "test program"};

template <typename Config>
ParseResult parse(Config& config, std::vector<std::string> args, std::ostream& help = std::cout) {
  args.insert(args.begin(), kProgram.name);
  std::vector<const char*> argv;
  for (const auto& arg : args) {
    argv.push_back(arg.c_str());
  }
  return parse_command_line(kProgram, config, static_cast<int>(argv.size()), argv.data(), help);
}

template <typename Config>
std::string parse_error(std::vector<std::string> args) {
  Config config;
  return mae::test::error_of<mae::UsageError>([&] { parse(config, std::move(args)); });
}

TEST(CommandLine, DefaultsThenConfigFileThenFlags) {
  mae::test::TempDir dir;
  const auto file = dir / "recipe.json";
  std::ofstream(file) << R"({"batch_size": 32, "epochs": 10, "norm_pix_loss": true})";
  PretrainConfig config;
  EXPECT_EQ(parse(config, {"--epochs", "20", "--config", file.string(), "--mask_ratio", "0.6"}), ParseResult::run);
  EXPECT_EQ(config.batch_size, 32);          // from the file
  EXPECT_EQ(config.epochs, 20);              // the flag beats the file, wherever it stands
  EXPECT_DOUBLE_EQ(config.mask_ratio, 0.6);  // flag only
  EXPECT_TRUE(config.norm_pix_loss);         // file
  EXPECT_EQ(config.accum_iter, 1);           // default

  PretrainConfig equals_form;
  parse(equals_form, {"--config=" + file.string()});
  EXPECT_EQ(equals_form.epochs, 10);
  // What the file or the flags set is known as given; defaults are not (a checkpoint may fill those in).
  EXPECT_EQ(config.given, (std::set<std::string>{"batch_size", "epochs", "norm_pix_loss", "mask_ratio"}));
}

TEST(CommandLine, OptionalIntegersTakeIntegersOrStayNone) {
  FinetuneConfig config;
  parse(config, {"--patch_size", "7", "--finetune_blocks", "0", "--cls_token"});
  EXPECT_EQ(config.patch_size, 7);
  EXPECT_EQ(config.finetune_blocks, 0);
  EXPECT_FALSE(config.embed_dim.has_value());
  EXPECT_TRUE(config.was_given("global_pool"));  // a negation flag sets its field
  FinetuneConfig bad;
  EXPECT_THROW(parse(bad, {"--depth", "2.5"}), mae::UsageError);
  EXPECT_THROW(parse(bad, {"--finetune_blocks", "-1"}), mae::UsageError);
}

TEST(CommandLine, FlagsOfEveryKind) {
  FinetuneConfig config;
  parse(config, {"--lr", "0.5", "--cls_token", "--no_pin_mem", "--cutmix_minmax", "0.1", "0.9", "--dist_eval",
                 "--remode", "const", "--batch_size=8"});
  ASSERT_TRUE(config.lr.has_value());
  EXPECT_DOUBLE_EQ(*config.lr, 0.5);
  EXPECT_FALSE(config.global_pool);
  EXPECT_FALSE(config.pin_mem);
  EXPECT_EQ(config.cutmix_minmax, (std::vector<double>{0.1, 0.9}));
  EXPECT_TRUE(config.dist_eval);
  EXPECT_EQ(config.remode, "const");
  EXPECT_EQ(config.batch_size, 8);
}

TEST(CommandLine, ARepeatedFlagTakesItsLastValueAsArgparse) {
  PretrainConfig config;
  parse(config, {"--epochs", "3", "--model", "a", "--epochs", "7", "--model", "mae_vit_base_patch16"});
  EXPECT_EQ(config.epochs, 7);
  EXPECT_EQ(config.model, "mae_vit_base_patch16");
}

TEST(CommandLine, UnknownFlagSuggestsTheClosestName) {
  EXPECT_EQ(parse_error<PretrainConfig>({"--bach_size", "3"}),
            "unknown flag '--bach_size' (did you mean '--batch_size'?)");
  EXPECT_EQ(parse_error<PretrainConfig>({"--no-pin-mem"}),
            "unknown flag '--no-pin-mem' (did you mean '--no_pin_mem'?)");
  // A finetune flag given to pretraining.
  EXPECT_EQ(parse_error<PretrainConfig>({"--layer_decay", "0.6"}), "unknown flag '--layer_decay'");
  EXPECT_EQ(parse_error<PretrainConfig>({"stray"}),
            "unexpected argument 'stray': settings are given as --name value (see --help)");
}

TEST(CommandLine, BadValuesAndRangesAreUsageErrors) {
  EXPECT_NE(parse_error<PretrainConfig>({"--batch_size", "abc"}).find("--batch_size"), std::string::npos);
  EXPECT_EQ(parse_error<PretrainConfig>({"--batch_size", "0"}), "invalid value for batch_size: 0 (must be >= 1)");
  EXPECT_EQ(parse_error<PretrainConfig>({"--config"}), "--config needs a path to a JSON file");
  EXPECT_EQ(parse_error<PretrainConfig>({"--config", "/nope.json"}),
            "config file '/nope.json' cannot be read: no such file");
}

TEST(CommandLine, HelpListsEveryFlagWithItsDefault) {
  FinetuneConfig config;
  std::ostringstream help;
  EXPECT_EQ(parse(config, {"--help"}, help), ParseResult::help_shown);
  for (const auto& field : config.fields()) {
    const std::string text = help.str();
    EXPECT_NE(text.find("--" + field.name), std::string::npos) << field.name;
    if (!field.negation.empty()) {
      EXPECT_NE(text.find("--" + field.negation), std::string::npos) << field.negation;
    }
  }
  EXPECT_NE(help.str().find("(default: 0.75)"), std::string::npos);                    // layer_decay
  EXPECT_NE(help.str().find("(default: 'rand-m9-mstd0.5-inc1')"), std::string::npos);  // aa
  EXPECT_NE(help.str().find("(default: None)"), std::string::npos);                    // lr
  EXPECT_NE(help.str().find("[mae-cpp] JSON file"), std::string::npos);                // --config is ours
}

}  // namespace
