// mae_finetune: end-to-end classification fine-tuning from a pre-training checkpoint (main_finetune.py).
#include "cli/run_app.h"
#include "mae/engine/classifier.h"

int main(int argc, char** argv) {
  mae::config::FinetuneConfig config;
  return mae::apps::run_app({"mae_finetune", "MAE fine-tuning for image classification (main_finetune.py)"}, config,
                            argc, argv, [&](const mae::config::JobConfig&) { mae::engine::run_finetuning(config); });
}
