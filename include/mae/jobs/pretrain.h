#pragma once
// main_pretrain.py and engine_pretrain.py: masked-autoencoder pre-training.
#include "mae/config/job_config.h"
#include "mae/distributed/launch_env.h"

namespace mae::jobs {

// `launch`: the launcher's environment, read once by the frame (apps::run_job).
void run_pretraining(const config::PretrainConfig& config, const distributed::LaunchEnv& launch);

}  // namespace mae::jobs
