#pragma once
// main_pretrain.py and engine_pretrain.py: masked-autoencoder pre-training.
#include "mae/config/job_config.h"

namespace mae::engine {

void run_pretraining(const config::PretrainConfig& config);

}  // namespace mae::engine
