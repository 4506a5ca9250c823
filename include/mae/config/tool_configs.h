#pragma once
// The settings of the tools besides the jobs: mae_visualize (the demo's reconstruction figure), mae_extract (features
// and kNN) and mae_bench's two benchmarks. They run on the same frame as the jobs (--config file, flags, --help, validation, exit codes).
#include <cstdint>
#include <string>
#include <vector>

#include "mae/config/settings.h"

namespace mae::config {

// mae_visualize: demo/mae_visualize.ipynb for any images and checkpoint.
class VisualizeConfig : public Settings {
 public:
  std::string checkpoint;
  StringList images;
  std::string output_dir = "./output_dir/visualize";
  std::string model;           // empty: the architecture the checkpoint's args record
  OptionalInt input_size;      // None: the checkpoint's, else the model's
  OptionalBool norm_pix_loss;  // None: the checkpoint's
  double mask_ratio = 0.75;
  int seed = 2;  // the demo's torch.manual_seed(2)

 protected:
  void describe(std::vector<Field>& fields) override;
};

// mae_extract: an encoder's features of every image of a folder into a safetensors file, and DINO's weighted kNN
// classifier on two such files. Extraction needs checkpoint, data_path and output; --knn_train then evaluates the
// written file against a training feature file. Without a checkpoint it only evaluates --knn_test against
// --knn_train.
class ExtractConfig : public Settings {
 public:
  std::string checkpoint;
  std::string data_path;
  std::string output;
  std::string model;        // empty: the architecture the checkpoint records (or its weights' shape)
  OptionalInt input_size;   // None: the checkpoint's
  OptionalInt num_heads;    // None: the checkpoint's (a file that records none: --model's, else width / 64)
  std::string pool = "cls";  // cls | mean (models/features.h)
  bool fp16 = false;        // store the features as float16
  int batch_size = 64;
  int num_workers = 4;
  std::string device = "cuda";
  std::string amp = "auto";
  std::string dist_url = "env://";
  int dist_timeout = 1800;
  std::string knn_train;
  std::string knn_test;
  int knn_k = 20;
  double knn_temperature = 0.07;
  int max_image_pixels = 178'956'970;  // a larger image stops the extraction, refused before decoding; 0: no limit
  int pipe_timeout = 300;  // seconds a pipe: shard's command may write nothing before it is killed; 0: none

  bool extracts() const { return !checkpoint.empty(); }

 protected:
  void describe(std::vector<Field>& fields) override;
  void validate_rules() const override;
};

// mae_shard: an image folder packed into WebDataset tar shards with a JSON index (data/shards/shard_packer.h).
class ShardConfig : public Settings {
 public:
  std::string data_path;
  std::string output_dir;
  double shard_size_mb = 1000;
  int samples_per_shard = 0;
  int resize = 0;
  int jpeg_quality = 0;
  int num_workers = 2;
  bool strict_data = false;
  int max_image_pixels = 178'956'970;  // a larger image is skipped (or stops it, strict_data); 0: no limit

 protected:
  void describe(std::vector<Field>& fields) override;
};

// mae_bench step: one job's training step (or inference) timed on synthetic or real data.
class StepBenchConfig : public Settings {
 public:
  std::string job = "pretrain";                // pretrain | finetune | linprobe | inference
  std::string model = "mae_vit_base_patch16";  // an MAE or a classifier name; each job takes the matching one
  int batch_size = 16;
  int input_size = 224;
  std::string amp = "off";
  std::string device = "cpu";
  int warmup = 2;
  int iters = 5;
  double mask_ratio = 0.75;
  std::string data_path;  // an image folder or shards: the real threaded loader instead of synthetic batches
  int num_workers = 2;
  double peak_tflops = 0.0;  // the device's peak for the precision, for the MFU; 0: not reported
  int seed = 0;
  bool json = false;  // one JSON line instead of text
  bool grad_checkpointing = false;
  std::string profile_steps;  // "A:B" of the bench's steps, warm-up included
  std::string profile_dir;    // "": ./profile

 protected:
  void describe(std::vector<Field>& fields) override;
};

// mae_bench data: images/s of the pre-training input pipeline.
class DataBenchConfig : public Settings {
 public:
  std::string data_path;
  int num_workers = 1;
  int batch_size = 64;
  int input_size = 224;
  int epochs = 3;
  int shuffle_buffer = 1000;  // tar shards

 protected:
  void describe(std::vector<Field>& fields) override;
};

}  // namespace mae::config
