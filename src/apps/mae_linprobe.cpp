// mae_linprobe: linear probing of a frozen pre-trained encoder (main_linprobe.py).
#include "cli/run_app.h"
#include "mae/engine/classifier.h"

int main(int argc, char** argv) {
  mae::config::LinprobeConfig config;
  return mae::apps::run_app({"mae_linprobe", "MAE linear probing (main_linprobe.py)"}, config, argc, argv,
                            [&](const mae::config::JobConfig&) { mae::engine::run_linear_probing(config); });
}
