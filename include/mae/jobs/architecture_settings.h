#pragma once
// The model a job builds: --model's architecture with the shape settings that override it (--patch_size,
// --embed_dim, --depth, --num_heads, --mlp_ratio, --in_chans, --input_size, and the decoder's), and the rules that
// keep it consistent with checkpoints. Resolution writes every shape setting back into the config, so the `args` of
// each checkpoint records the whole architecture and the next job can rebuild it without the user repeating flags.
#include <ATen/core/ivalue.h>

#include <optional>
#include <string>

#include "mae/models/architecture.h"
#include "mae/models/state_dict.h"

namespace mae::config {
class VisualizeConfig;
class JobConfig;
class PretrainConfig;
class ClassifierConfig;
}  // namespace mae::config

namespace mae::jobs {

// --model's MAE architecture, overridden by the settings given; fills the unset ones in `config`.
models::MaeOptions resolve_mae_architecture(config::PretrainConfig& config);

// The classifier's architecture. Its encoder comes from the checkpoint `source_args` describes (the `args` of the
// --finetune checkpoint, or of the --resume one for --eval) when that records one (ours record all of it; the
// official ones name their --model): then --model and the shape settings only need to be given to be checked, and a
// difference is a UsageError naming both shapes; --input_size defaults to the checkpoint's too. Without a recorded
// architecture, --model and the settings given decide. Fills the unset settings (and --model) in `config`.
models::VitOptions resolve_vit_architecture(config::ClassifierConfig& config, const c10::IValue& source_args,
                                            const std::string& source_path);

// The encoder a checkpoint's `args` records: our shape settings, else the official --model name and --input_size.
std::optional<models::EncoderOptions> recorded_encoder(const c10::IValue& args);

// The encoder's shape read from its weights, for a file that records no `args` (a released .pth, a bare state dict, a
// .safetensors file): patch size, channels and width from patch_embed.proj.weight, depth from the blocks.N, the MLP
// ratio from blocks.0.mlp.fc1.weight, the input size from pos_embed's grid. The heads leave no trace in the weights:
// --num_heads when given, else --model's when it names this width, else width / 64 (every ViT of the paper). `how`
// says what was inferred and how, for a warning. Nothing when the weights are not a ViT encoder's.
struct InferredEncoder {
  models::EncoderOptions encoder;
  std::string how;
};
std::optional<InferredEncoder> encoder_from_weights(const models::NamedTensors& weights,
                                                    const config::JobConfig& config);

// The architecture `path` records as checkpoint args: its `args` when it has them (ours, and the official training
// checkpoints), else the shape of its weights (encoder_from_weights, with a warning saying what was inferred), else
// None. resolve_vit_architecture takes the result.
c10::IValue architecture_args_of(const std::string& path, const config::JobConfig& config);

// The MAE (decoder and loss settings included) a pre-training checkpoint's `args` records.
std::optional<models::MaeOptions> recorded_mae_architecture(const c10::IValue& args);

// mae_visualize's model: the architecture the checkpoint's `args` records, or --model's (at the recorded input size,
// with the recorded loss), then --input_size and --norm_pix_loss where given. A checkpoint that records none needs
// --model (UsageError naming `source_path`). Also checks --mask_ratio against the masking strategy.
models::MaeOptions resolve_visualize_architecture(const config::VisualizeConfig& config,
                                                  const c10::IValue& checkpoint_args, const std::string& source_path);

// --resume: every shape setting the checkpoint's `args` and the run both record must agree; otherwise a UsageError
// that names each difference with both values.
void check_same_architecture(const c10::IValue& checkpoint_args, const config::JobConfig& config,
                             const std::string& path);

}  // namespace mae::jobs
