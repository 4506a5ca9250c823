#pragma once
// util/misc.py load_model / save_model for the training jobs: resume from a checkpoint and write the checkpoints due
// after an epoch.
#include <torch/nn/module.h>

#include <string>

#include "mae/engine/checkpoint_writer.h"
#include "mae/engine/grad_scaler.h"
#include "mae/engine/optimizer.h"

namespace mae::config {
class JobConfig;
}

namespace mae::engine {

// --resume PATH, or --resume auto (the newest checkpoint in output_dir, if any): loads the model (strictly), and,
// unless `weights_only`, the optimizer and scaler state. Returns the epoch to start from (config.start_epoch when
// nothing is resumed).
int64_t resume_training(const config::JobConfig& config, torch::nn::Module& model, Optimizer* optimizer,
                        GradScaler* scaler, bool weights_only = false);

// Hands the checkpoints due after `epoch` (checkpoints_due) in output_dir to `writer`: the state is copied now, the
// files are written in the background. Nothing when output_dir is empty or nothing is due.
void save_epoch_checkpoints(const config::JobConfig& config, int64_t epoch, const torch::nn::Module& model,
                            const Optimizer& optimizer, const GradScaler& scaler, CheckpointWriter& writer);

}  // namespace mae::engine
