#pragma once
// Training checkpoints as util/misc.py writes them: output_dir/checkpoint-<epoch>.pth holding
// {model, optimizer, epoch, scaler, args}, readable by torch.load(path, weights_only=True) (our `args` is the resolved
// configuration as a plain dict instead of an argparse.Namespace), written atomically.
#include <ATen/core/ivalue.h>

#include <optional>
#include <string>
#include <vector>

#include "mae/io/pth_file.h"
#include "mae/models/state_dict.h"

namespace mae::engine {

// torch.cuda.amp.GradScaler.state_dict().
struct GradScalerState {
  double scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
  int64_t growth_tracker = 0;
};

// Where a preempted run stopped inside an epoch (jobs/preemption.h): `step` batches of `epoch` were trained. The
// batch order of an epoch follows from the seed, the epoch, the data and the world size, so that position and the
// run's shape identify the next batch; a resume checks the shape (same seed, world size and batches per epoch).
struct EpochPosition {
  int64_t epoch = 0;
  int64_t step = 0;
  int64_t steps_per_epoch = 0;
  int64_t world_size = 1;
  int64_t seed = 0;
  // Tar shards: the loader workers the batches were dealt to (data::BatchStream::order_workers), recorded as
  // "loader_workers" when not 0; another --num_workers would read other samples from the step on.
  int64_t loader_workers = 0;
};

struct TrainingState {
  models::NamedTensors model;             // official names, no "module." prefix
  c10::IValue optimizer;                  // optimizer.state_dict() layout: {state: {index: {...}}, param_groups: [...]}
  std::optional<GradScalerState> scaler;  // written as {} when absent, as a disabled GradScaler's state_dict()
  int64_t epoch = -1;                     // the last completed epoch
  c10::IValue args;                       // the run's settings as a dict (an official file's Namespace fields)
  // mae-cpp: a checkpoint written on preemption also holds its position, as {"epoch", "step", "steps_per_epoch",
  // "world_size", "seed"} under "epoch_position" (its `epoch` is still the last completed one, so that the official
  // code resumes it from the start of the interrupted epoch).
  std::optional<EpochPosition> position;
};

void save_training_checkpoint(const std::string& path, const TrainingState& state);

// Reads a checkpoint of ours or of the official code. `model` is required; the rest is read when present.
TrainingState load_training_checkpoint(const std::string& path);

// Model weights from any of: a training checkpoint ({'model': ...}), a released file ({'model': ...}), a bare state
// dict (.pth) or a .safetensors file. A "module." prefix on every key (a DDP-wrapped save) is removed. With
// io::PthContents::metadata_only a .pth file's tensors have their shapes but no data (nothing of the weights is read).
models::NamedTensors load_model_weights(const std::string& path,
                                        io::PthContents contents = io::PthContents::everything);

// The `args` entry of a .pth checkpoint; None for a file without one (a bare state dict, a .safetensors file).
// Reads only the file's pickle, not its weights.
c10::IValue load_checkpoint_args(const std::string& path);

// The file a preempted run writes and --resume auto reads first.
inline constexpr const char* kLastCheckpointName = "checkpoint-last.pth";

// "checkpoint-<epoch>.pth"
std::string checkpoint_file_name(int64_t epoch);

// The files to write after `epoch` (0-based) of `epochs`: checkpoint-<epoch>.pth every `save_every` epochs and after
// the last epoch (the reference: 20 for pre-training, 1 for fine-tuning and linear probing; 0 = last epoch only), and
// checkpoint-last.pth after every epoch when `save_last`.
std::vector<std::string> checkpoints_due(int64_t epoch, int64_t epochs, int64_t save_every, bool save_last);

// What --resume auto chose in an output folder, and the line that says what it considered.
struct ResumeChoice {
  std::string path;
  std::string considered;  // "checkpoint-3.pth (epoch 4, step 0), checkpoint-last.pth (epoch 1, step 11)"
};

// For --resume auto: of checkpoint-last.pth and every checkpoint-<N>.pth in the folder, the one that continues the
// run furthest along, by the position it resumes at: (epoch + 1, step 0) after a completed epoch, (epoch, step) for a
// position checkpoint a stop signal wrote. Never by name: with --no_save_last a position checkpoint-last.pth written
// by a stop in epoch 1 is older than a checkpoint-3.pth written later, and a kill between a numbered file's rename and
// its checkpoint-last.pth link leaves the link one epoch behind. Only each file's pickle is read (no weights); a file
// that cannot be read is left out with a warning. Nothing when the folder holds no readable checkpoint.
std::optional<ResumeChoice> find_resume_checkpoint(const std::string& output_dir);

}  // namespace mae::engine
