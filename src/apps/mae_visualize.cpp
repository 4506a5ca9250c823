// mae_visualize: the reference demo's reconstruction figure (demo/mae_visualize.ipynb) for any images. Prints the
// path of each figure written.
#include <iostream>

#include "cli/run_app.h"
#include "mae/config/tool_configs.h"
#include "mae/jobs/visualize.h"

int main(int argc, char** argv) {
  mae::config::VisualizeConfig config;
  return mae::apps::run_app(
      {"mae_visualize",
       "Reconstruct images with a pre-trained MAE: original, masked, "
       "reconstruction, reconstruction + visible (demo/mae_visualize.ipynb)",
       "Example: mae_visualize --checkpoint output_dir/demo_pretrain/checkpoint-last.pth --images "
       "data/demo/val/2/2_450.png\nMore: README.md (quick start), docs/models.md\n"},
      config, argc, argv, [&] {
        for (const auto& path : mae::jobs::run_visualization(config)) {
          std::cout << path << '\n';
        }
      });
}
