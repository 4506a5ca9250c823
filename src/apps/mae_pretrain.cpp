// mae_pretrain: masked-autoencoder pre-training (main_pretrain.py).
#include "cli/run_app.h"
#include "mae/engine/pretrain.h"

int main(int argc, char** argv) {
  mae::config::PretrainConfig config;
  return mae::apps::run_app({"mae_pretrain", "MAE pre-training (main_pretrain.py)"}, config, argc, argv,
                            [&](const mae::config::JobConfig&) { mae::engine::run_pretraining(config); });
}
