#include "mae/jobs/visualize.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/utils.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <opencv2/imgproc.hpp>

#include "mae/data/folder/image_folder.h"
#include "mae/data/image/image_io.h"
#include "mae/data/augment/resample.h"
#include "mae/data/augment/transforms.h"
#include "mae/engine/checkpoint.h"
#include "mae/jobs/architecture_settings.h"
#include "mae/models/state_dict.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::jobs {
namespace {

// The image files of --images: files as given, folders searched recursively in ImageFolder's order.
std::vector<std::string> image_files(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& input : inputs) {
    if (std::filesystem::is_directory(input)) {
      for (const auto& sample : data::ImageFolder::without_labels(input).samples()) {
        files.push_back(sample.path);
      }
    } else {
      files.push_back(input);
    }
  }
  return files;
}

// [C, H, W] normalised -> 8-bit RGB, clip((x * std + mean) * 255) as the demo's show_image; one channel (an
// --in_chans 1 model) is shown as gray.
cv::Mat to_image(const at::Tensor& normalised) {
  const bool gray = normalised.size(0) == 1;
  const auto& mean_values = gray ? data::kGrayMean : data::kImagenetMean;
  const auto& std_values = gray ? data::kGrayStd : data::kImagenetStd;
  const auto channels = normalised.size(0);
  const auto mean = at::tensor(std::vector<float>(mean_values.begin(), mean_values.end())).slice(0, 0, channels).view({channels, 1, 1});
  const auto std = at::tensor(std::vector<float>(std_values.begin(), std_values.end())).slice(0, 0, channels).view({channels, 1, 1});
  const at::Tensor pixels = at::clamp((normalised.detach().cpu().to(at::kFloat) * std + mean) * 255.0, 0, 255)
                                .to(at::kByte)
                                .expand({3, -1, -1})
                                .permute({1, 2, 0})
                                .contiguous();
  cv::Mat image(static_cast<int>(pixels.size(0)), static_cast<int>(pixels.size(1)), CV_8UC3);
  std::memcpy(image.data, pixels.data_ptr(), pixels.numel());
  return image;
}

}  // namespace

Reconstruction reconstruct(models::MaskedAutoencoderViTImpl& model, const cv::Mat& image, double mask_ratio,
                           uint64_t seed) {
  const c10::NoGradGuard no_grad;
  const int size = static_cast<int>(model.options().encoder.img_size);
  const auto device = model.parameters().front().device();
  const auto in_chans = static_cast<int>(model.options().encoder.in_chans);
  const at::Tensor x = data::to_model_input(data::resize_bicubic(image, size, size), in_chans).unsqueeze(0).to(device);
  model.eval();
  torch::manual_seed(seed);
  const models::MaeOutput out = model.forward(x, mask_ratio);
  at::Tensor prediction = out.pred;
  if (model.options().norm_pix_loss) {
    const auto [mean, std] = models::MaskedAutoencoderViTImpl::patch_mean_and_std(model.patchify(x));
    prediction = prediction * std + mean;
  }
  const int64_t patch_values = prediction.size(-1);
  const at::Tensor y = model.unpatchify(prediction);
  const at::Tensor mask = model.unpatchify(out.mask.unsqueeze(-1).expand({-1, -1, patch_values}));  // 1 = removed
  const at::Tensor visible = x * (1 - mask);
  return {to_image(x[0]), to_image(visible[0]), to_image(y[0]), to_image((visible + y * mask)[0])};
}

cv::Mat panels(const Reconstruction& r, int min_panel) {
  const std::array<std::pair<const cv::Mat*, const char*>, 4> parts{
      {{&r.original, "original"}, {&r.masked, "masked"}, {&r.reconstruction, "reconstruction"},
       {&r.pasted, "reconstruction + visible"}}};
  const int scale = std::max(1, (min_panel + r.original.cols - 1) / r.original.cols);
  const int side = r.original.cols * scale;
  const int gap = 8;
  const int title = 24;
  cv::Mat canvas(side + title + gap, 4 * side + 5 * gap, CV_8UC3, cv::Scalar(255, 255, 255));
  for (int i = 0; i < 4; ++i) {
    cv::Mat scaled;
    cv::resize(*parts[i].first, scaled, cv::Size(side, side), 0, 0, cv::INTER_NEAREST);
    const int left = gap + i * (side + gap);
    scaled.copyTo(canvas(cv::Rect(left, title, side, side)));
    cv::putText(canvas, parts[i].second, cv::Point(left, title - 7), cv::FONT_HERSHEY_SIMPLEX, 0.45,
                cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  }
  return canvas;
}

std::vector<std::string> run_visualization(const config::VisualizeConfig& config) {
  const auto state = engine::load_training_checkpoint(config.checkpoint);
  const auto has = [&](const std::string& name) {
    return std::any_of(state.model.begin(), state.model.end(), [&](const auto& entry) { return entry.first == name; });
  };
  if (!has("decoder_embed.weight") && has("head.weight")) {
    throw UsageError(text("'", config.checkpoint, "' holds a classifier (a fine-tuned or linear-probed ViT: it has ",
                          "head.weight and no decoder), not a pre-trained MAE; mae_visualize needs a pre-training ",
                          "checkpoint, whose decoder draws the reconstructions"));
  }
  const models::MaeOptions architecture =
      resolve_visualize_architecture(config, state.args, config.checkpoint);
  models::MaskedAutoencoderViT model(architecture);
  try {
    models::load_state_dict(*model, state.model, /*strict=*/true);
  } catch (const Error& error) {
    throw UsageError(text(config.checkpoint, ": ", error.what()));
  }
  std::filesystem::create_directories(config.output_dir);
  std::vector<std::string> written;
  for (const auto& file : image_files(config.images)) {
    const auto reconstruction =
        reconstruct(*model, data::read_rgb_image(file), config.mask_ratio, static_cast<uint64_t>(config.seed));
    const auto path = (std::filesystem::path(config.output_dir) /
                       (std::filesystem::path(file).stem().string() + "_reconstruction.png"))
                          .string();
    data::write_rgb_image(path, panels(reconstruction));
    written.push_back(path);
  }
  return written;
}

}  // namespace mae::jobs
