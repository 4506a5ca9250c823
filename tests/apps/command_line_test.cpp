#include "cli/command_line.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "mae/config/config_file.h"
#include "mae/config/job_config.h"
#include "mae/config/tool_configs.h"
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

// Issue #27: "--log_dir=" (no TensorBoard) took the next word as its value: log_dir became "--epochs" and 3 a stray
// argument. An empty value after '=' is the empty string, as argparse has it.
TEST(CommandLine, AnEmptyValueAfterEqualsIsTheEmptyStringAndTakesNoOtherWord) {
  PretrainConfig config;
  ASSERT_EQ(parse(config, {"--log_dir=", "--epochs", "3"}), ParseResult::run);
  EXPECT_EQ(config.log_dir, "");
  EXPECT_EQ(config.epochs, 3);
  EXPECT_TRUE(config.given.contains("log_dir"));
  PretrainConfig separate;
  parse(separate, {"--log_dir", "", "--epochs", "4"});
  EXPECT_EQ(separate.log_dir, "");
  EXPECT_EQ(separate.epochs, 4);
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
  EXPECT_EQ(parse_error<PretrainConfig>({"--batch_size", "abc"}), "invalid value for batch_size: 'abc' (an integer expected)");
  EXPECT_EQ(parse_error<FinetuneConfig>({"--global_pool", "false"}),
            "unexpected argument 'false': --global_pool is a switch and takes no value (--cls_token turns it off)");
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

// The tools run on the same frame: file lists, flags whose default is "the checkpoint's", the shared settings' rules.
TEST(CommandLine, ToolSettingsTakeListsAndUnsetFlagsThroughTheSameFrame) {
  mae::test::TempDir dir;
  const auto file = dir / "visualize.json";
  std::ofstream(file) << R"({"images": ["a.png", "b.png"], "norm_pix_loss": null, "no_norm_pix_loss": true})";
  mae::config::VisualizeConfig from_file;
  EXPECT_EQ(parse(from_file, {"--checkpoint", "c.pth", "--config", file.string()}), ParseResult::run);
  EXPECT_EQ(from_file.images, (std::vector<std::string>{"a.png", "b.png"}));
  EXPECT_EQ(from_file.norm_pix_loss, false);

  mae::config::VisualizeConfig flags;
  parse(flags, {"--checkpoint", "c.pth", "--images", "x.png", "y/", "--mask_ratio", "0.5"});
  EXPECT_EQ(flags.images, (std::vector<std::string>{"x.png", "y/"}));
  EXPECT_FALSE(flags.norm_pix_loss.has_value());  // the checkpoint's, later
  EXPECT_DOUBLE_EQ(flags.mask_ratio, 0.5);
  mae::config::VisualizeConfig set;
  parse(set, {"--checkpoint", "c.pth", "--images", "x.png", "--norm_pix_loss"});
  EXPECT_EQ(set.norm_pix_loss, true);

  EXPECT_EQ(parse_error<mae::config::VisualizeConfig>({"--checkpoint", "c.pth"}),
            "invalid value for images: give at least one");
  EXPECT_EQ(parse_error<mae::config::StepBenchConfig>({"--mask_ratio", "1"}),
            parse_error<PretrainConfig>({"--mask_ratio", "1"}));
  EXPECT_EQ(parse_error<mae::config::StepBenchConfig>({"--device", "gpu"}),
            "invalid value for device: 'gpu' (use cpu, cuda or cuda:N)");
  EXPECT_EQ(parse_error<mae::config::StepBenchConfig>({"--amp", "fp8"}), parse_error<PretrainConfig>({"--amp", "fp8"}));
  EXPECT_EQ(parse_error<mae::config::DataBenchConfig>({"--data_path", "d", "--num_workers", "-1"}),
            "invalid value for num_workers: -1 (must be >= 0)");
  // mae_bench's former spellings, refused with the names every other program uses.
  EXPECT_EQ(parse_error<mae::config::DataBenchConfig>({"--data", "d"}),
            "--data is now --data_path, the name every mae-cpp program uses");
  EXPECT_EQ(parse_error<mae::config::DataBenchConfig>({"--data_path", "d", "--workers", "2"}),
            "--workers is now --num_workers, the name every mae-cpp program uses");
  EXPECT_EQ(parse_error<mae::config::StepBenchConfig>({"--data", "d"}),
            "--data is now --data_path, the name every mae-cpp program uses");
}

}  // namespace

