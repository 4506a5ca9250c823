// mae_visualize: the reference demo's reconstruction figure (demo/mae_visualize.ipynb) for any images.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>

#include "mae/data/image_folder.h"
#include "mae/data/image_io.h"
#include "mae/engine/architecture_settings.h"
#include "mae/engine/checkpoint.h"
#include "mae/engine/visualize.h"
#include "mae/models/factory.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace {

struct Options {
  std::string checkpoint;
  std::vector<std::string> images;
  std::string output_dir = "./output_dir/visualize";
  std::string model;    // default: the architecture the checkpoint's args record
  int input_size = 0;   // default: the checkpoint's args, else the model's
  std::optional<bool> norm_pix_loss;
  double mask_ratio = 0.75;
  uint64_t seed = 2;    // the demo's torch.manual_seed(2)
};

std::vector<std::string> expand(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& input : inputs) {
    if (std::filesystem::is_directory(input)) {
      for (const auto& sample : mae::data::ImageFolder::without_labels(input).samples()) {
        files.push_back(sample.path);
      }
    } else {
      files.push_back(input);
    }
  }
  return files;
}

void visualize(const Options& options) {
  const auto state = mae::engine::load_training_checkpoint(options.checkpoint);
  // Our checkpoints record the whole architecture; an official one names its model and input size.
  const auto recorded = mae::engine::recorded_mae_architecture(state.args);
  if (options.model.empty() && !recorded) {
    throw mae::UsageError(mae::text("'", options.checkpoint, "' does not say which model it holds: pass --model"));
  }
  mae::models::MaeOptions architecture = recorded.value_or(mae::models::MaeOptions{});
  if (!options.model.empty()) {
    architecture = mae::models::mae_architecture(options.model);
    architecture.encoder.img_size = recorded ? recorded->encoder.img_size : architecture.encoder.img_size;
    architecture.norm_pix_loss = recorded && recorded->norm_pix_loss;
  }
  if (options.input_size > 0) {
    architecture.encoder.img_size = options.input_size;
  }
  architecture.norm_pix_loss = options.norm_pix_loss.value_or(architecture.norm_pix_loss);
  mae::models::MaskedAutoencoderViT model(architecture);
  try {
    mae::models::load_state_dict(*model, state.model, /*strict=*/true);
  } catch (const mae::Error& error) {
    throw mae::UsageError(mae::text(options.checkpoint, ": ", error.what()));
  }
  std::filesystem::create_directories(options.output_dir);
  for (const auto& file : expand(options.images)) {
    const auto reconstruction = mae::engine::reconstruct(*model, mae::data::read_rgb_image(file), options.mask_ratio,
                                                         options.seed);
    const auto path = (std::filesystem::path(options.output_dir) /
                       (std::filesystem::path(file).stem().string() + "_reconstruction.png")).string();
    mae::data::write_rgb_image(path, mae::engine::panels(reconstruction));
    std::cout << path << '\n';
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Reconstruct images with a pre-trained MAE: original, masked, reconstruction, reconstruction + "
               "visible (demo/mae_visualize.ipynb)", "mae_visualize");
  Options options;
  app.add_option("--checkpoint", options.checkpoint, "Pre-training checkpoint (ours or the official .pth)")->required();
  app.add_option("--images", options.images, "Image files or folders")->required()->expected(1, 1 << 20);
  app.add_option("--output_dir", options.output_dir, "Where the PNGs go")->capture_default_str();
  app.add_option("--model", options.model, "Model name (default: from the checkpoint's args)");
  app.add_option("--input_size", options.input_size, "Input size (default: from the checkpoint's args)");
  app.add_flag_function("--norm_pix_loss,!--no_norm_pix_loss", [&](int64_t count) { options.norm_pix_loss = count > 0; },
                        "Whether the model predicts normalised patches (default: from the checkpoint's args)");
  app.add_option("--mask_ratio", options.mask_ratio, "Masking ratio")->capture_default_str();
  app.add_option("--seed", options.seed, "Seed of the random masking")->capture_default_str();
  try {
    app.parse(argc, argv);
    visualize(options);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const std::exception& error) {
    mae::log::error(mae::text("mae_visualize: ", error.what()));
    return mae::exit_code_for(error);
  }
  return 0;
}
