#pragma once
// Settings that several executables take (the jobs, mae_visualize, mae_bench), each defined once here so that its
// name, help text and rule are the same wherever it appears.
#include <string>

#include "mae/config/field.h"

namespace mae::config {

// --mask_ratio: the share of patches removed, in [0, 1). The strategy-specific rule (grid masking removes exactly
// three in four) is the model's: models::check_mask_ratio.
Field mask_ratio_field(double* target);

// --device: cpu, cuda or cuda:N. `purpose` starts the help text.
Field device_field(std::string* target, const std::string& purpose);

// --amp: auto, bf16, fp16 or off (engine::resolve_precision turns it into autocast and loss scaling).
Field amp_field(std::string* target);

// --pool / --knn_pool: how the encoder's tokens become one feature vector, cls or mean (models/features.h).
Field feature_pool_field(std::string* target, const std::string& name = "pool");

// --max_image_pixels: an image whose header declares more pixels is refused as unreadable before it is decoded (a
// decompression bomb); 0: no limit. The default, in each config that has it, is data::kPilPixelLimit.
Field max_image_pixels_field(int* target);

// --pipe_timeout: seconds a `pipe:` shard's command may write nothing before it is killed and its shard counts as
// unreadable (data/shards/shard_source.h); 0: no limit.
Field pipe_timeout_field(int* target);

// --grad_checkpointing: every transformer block recomputes its activations in backward instead of keeping them
// (models/grad_checkpoint.h).
Field grad_checkpointing_field(bool* target);

// --profile_steps A:B: the Kineto profiler records training steps A to B-1 (engine/step_profiler.h); '': none.
Field profile_steps_field(std::string* target);

// --profile_dir: where the trace goes; `default_text` says what '' means for this program.
Field profile_dir_field(std::string* target, const std::string& default_text);

// --knn_k and --knn_temperature of the weighted kNN classifier (DINO's 20 and 0.07).
Field knn_k_field(int* target);
Field knn_temperature_field(double* target);

}  // namespace mae::config
