#pragma once
// main_finetune.py / main_linprobe.py with engine_finetune.py: training a classifier on a pre-trained encoder,
// evaluating it every epoch (top-1/top-5, loss), and --eval.
#include "mae/config/job_config.h"
#include "mae/distributed/launch_env.h"

namespace mae::jobs {

// `launch`: the launcher's environment, read once by the frame (apps::run_job).
void run_finetuning(const config::FinetuneConfig& config, const distributed::LaunchEnv& launch);

// As the reference: BatchNorm1d(affine=False) + Linear head trained with LARS, everything else frozen, the model
// in train mode (the BN head's statistics update). With --global_pool the new fc_norm is frozen at its initial
// 1/0 (quirk Q6, mirrored).
void run_linear_probing(const config::LinprobeConfig& config, const distributed::LaunchEnv& launch);

}  // namespace mae::jobs
