// mae_finetune: end-to-end classification fine-tuning from a pre-training checkpoint (main_finetune.py).
#include "cli/run_app.h"
#include "mae/jobs/classifier.h"

int main(int argc, char** argv) {
  mae::config::FinetuneConfig config;
  return mae::apps::run_job(
      {"mae_finetune", "MAE fine-tuning for image classification (main_finetune.py)",
       mae::apps::job_help_footer("mae_finetune --config configs/finetune_vit_large.json --finetune "
                                  "out/pretrain/checkpoint-last.pth --data_path /data/imagenet",
                                  "README.md, docs/training.md, docs/configuration.md")},
      config, argc, argv,
      [&](const mae::distributed::LaunchEnv& launch) { mae::jobs::run_finetuning(config, launch); });
}
