// mae_pretrain: masked-autoencoder pre-training (main_pretrain.py).
#include "cli/run_app.h"

int main(int argc, char** argv) {
  mae::config::PretrainConfig config;
  return mae::apps::run_app({"mae_pretrain", "MAE pre-training (main_pretrain.py)"}, config, argc, argv,
                            mae::apps::not_implemented_yet("pre-training"));
}
