// mae_pretrain: masked-autoencoder pre-training (main_pretrain.py).
#include "cli/run_app.h"
#include "mae/jobs/pretrain.h"

int main(int argc, char** argv) {
  mae::config::PretrainConfig config;
  return mae::apps::run_job(
      {"mae_pretrain", "MAE pre-training (main_pretrain.py)",
       mae::apps::job_help_footer("mae_pretrain --config configs/vit_large.json --data_path /data/imagenet "
                                  "--output_dir out/pretrain",
                                  "README.md, docs/training.md, docs/configuration.md")},
      config, argc, argv,
      [&](const mae::distributed::LaunchEnv& launch) { mae::jobs::run_pretraining(config, launch); });
}
