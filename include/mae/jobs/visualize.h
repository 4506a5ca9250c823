#pragma once
// The reference's demo/mae_visualize.ipynb: one image through the MAE, shown as four panels.
#include <opencv2/core/mat.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "mae/config/tool_configs.h"
#include "mae/models/mae.h"

namespace mae::jobs {

struct Reconstruction {
  cv::Mat original;        // each 8-bit RGB, the model's input size
  cv::Mat masked;          // the visible patches only (removed ones at the mean colour, as in the demo)
  cv::Mat reconstruction;  // the decoder's prediction of every patch
  cv::Mat pasted;          // the visible patches with the reconstruction in the removed ones
};

// `image`: 8-bit RGB, any size (resized bicubically to the model's input size, as the demo's img.resize). Masking
// draws from torch's generator after torch::manual_seed(seed) (the demo uses 2). A norm_pix_loss model predicts
// normalised patches: they are mapped back with each patch's own mean and variance from the input.
Reconstruction reconstruct(models::MaskedAutoencoderViTImpl& model, const cv::Mat& image, double mask_ratio,
                           uint64_t seed);

// The four panels side by side under their titles, each scaled up (nearest) to at least `min_panel` pixels.
cv::Mat panels(const Reconstruction& reconstruction, int min_panel = 224);

// mae_visualize: the model of --checkpoint (engine::resolve_visualize_architecture), then for every image of
// --images (files, or folders searched recursively) <output_dir>/<name>_reconstruction.png. Returns the paths
// written, in order.
std::vector<std::string> run_visualization(const config::VisualizeConfig& config);

}  // namespace mae::jobs
