// mae_linprobe: linear probing of a frozen pre-trained encoder (main_linprobe.py).
#include "cli/run_app.h"
#include "mae/jobs/classifier.h"

int main(int argc, char** argv) {
  mae::config::LinprobeConfig config;
  return mae::apps::run_job(
      {"mae_linprobe", "MAE linear probing (main_linprobe.py)",
       mae::apps::job_help_footer("mae_linprobe --config configs/linprobe_vit_large.json --finetune "
                                  "out/pretrain/checkpoint-last.pth --data_path /data/imagenet",
                                  "README.md, docs/training.md, docs/configuration.md")},
      config, argc, argv,
      [&](const mae::distributed::LaunchEnv& launch) { mae::jobs::run_linear_probing(config, launch); });
}
