#pragma once
// Typed configurations of the three jobs. Member names and defaults are the official argparse ones of
// main_pretrain.py, main_finetune.py and main_linprobe.py (docs/configuration.md lists them).
#include <string>
#include <vector>

#include "mae/config/settings.h"

namespace mae::config {

// The settings every job has. Defaults here are main_pretrain.py's; the other jobs change theirs in their
// constructors, so each default is written exactly where the reference writes it.
class JobConfig : public Settings {
 public:
  // Schedule and optimisation.
  int batch_size = 64;
  int epochs = 400;
  int accum_iter = 1;
  std::string model = "mae_vit_large_patch16";
  // Added by mae-cpp: the encoder's shape, each overriding what --model names when set (None: the model's own).
  OptionalInt patch_size;
  OptionalInt in_chans;
  OptionalInt embed_dim;
  OptionalInt depth;
  OptionalInt num_heads;
  OptionalFloat mlp_ratio;
  double weight_decay = 0.05;
  OptionalFloat lr;
  double blr = 1e-3;
  double min_lr = 0.0;
  int warmup_epochs = 40;

  // Data, output and run environment.
  std::string data_path = "/datasets01/imagenet_full_size/061417/";
  std::string output_dir = "./output_dir";
  std::string log_dir = "./output_dir";
  std::string device = "cuda";
  int seed = 0;
  std::string resume;
  int start_epoch = 0;
  int num_workers = 10;
  bool pin_mem = true;
  int world_size = 1;
  int local_rank = -1;
  bool dist_on_itp = false;
  std::string dist_url = "env://";
  int dist_timeout = 1800;  // mae-cpp: seconds a collective may wait for the other ranks (torch.distributed's default)

  // Added by mae-cpp.
  int save_every = 20;  // checkpoint-<epoch>.pth every this many epochs (and after the last); 0: last only
  bool save_last = true;  // checkpoint-last.pth after every epoch
  bool strict_data = false;  // an unreadable image stops the job instead of being skipped
  int max_image_pixels = 178'956'970;  // a larger image is unreadable, refused before decoding; 0: no limit
  int pipe_timeout = 300;  // seconds a pipe: shard's command may write nothing before it is killed; 0: none
  int shuffle_buffer = 1000;  // tar shards: samples each loader worker holds to shuffle across shards
  int samples_per_epoch = 0;  // tar shards: samples a training epoch covers, all ranks together; 0: index.json's
  int preemption_deadline = 300;  // seconds from a stop signal to the forced end of the process; 0: none
  double save_interval_minutes = 0;  // a mid-epoch position checkpoint at the first update after every M minutes
  std::string grad_compression = "none";  // none, bf16 or fp16: the dtype gradient buckets are all-reduced in
  std::string amp = "auto";  // auto (bf16 where the device has it natively, else fp16 on GPUs, off on CPUs), ...
  bool grad_checkpointing = false;  // blocks recompute their activations in backward
  std::string profile_steps;        // "A:B": training steps A..B-1 recorded by the profiler; "": none
  std::string profile_dir;          // "": <output_dir>/profile

 protected:
  void describe(std::vector<Field>& fields) final;
  void validate_rules() const final;
  // The settings only this job has, appended between the schedule and the run settings.
  virtual void add_job_fields(std::vector<Field>& fields) = 0;
  // Rules across this job's own settings.
  virtual void validate_job() const {}
};

// main_pretrain.py
class PretrainConfig : public JobConfig {
 public:
  int input_size = 224;
  double mask_ratio = 0.75;
  bool norm_pix_loss = false;
  // Added by mae-cpp: the paper's ablations (docs/ablations.md). The decoder's shape overrides the model's when set.
  OptionalInt decoder_embed_dim;
  OptionalInt decoder_depth;
  OptionalInt decoder_num_heads;
  std::string mask_strategy = "random";
  bool loss_on_visible = false;
  // Added by mae-cpp: the kNN monitor (docs/features.md): every knn_eval_freq epochs the encoder's features of
  // <knn_data_path>/train (at most knn_max_train images) and /val go through the weighted kNN classifier.
  int knn_eval_freq = 0;  // 0: never
  std::string knn_data_path;
  int knn_max_train = 10000;
  int knn_k = 20;
  double knn_temperature = 0.07;
  std::string knn_pool = "cls";

 protected:
  void add_job_fields(std::vector<Field>& fields) override;
  void validate_job() const override;
};

// What main_finetune.py and main_linprobe.py share: a classifier built from a pretrained encoder.
class ClassifierConfig : public JobConfig {
 public:
  ClassifierConfig();

  std::string finetune;
  int input_size = 224;  // main_finetune.py's flag; main_linprobe.py has none (224) and takes it as ours
  bool global_pool = true;
  int nb_classes = 1000;
  bool eval = false;
  bool dist_eval = false;

 protected:
  void add_job_fields(std::vector<Field>& fields) override;
};

// main_finetune.py
class FinetuneConfig : public ClassifierConfig {
 public:
  FinetuneConfig();

  double drop_path = 0.1;
  OptionalFloat clip_grad;
  double layer_decay = 0.75;
  OptionalFloat color_jitter;
  std::string aa = "rand-m9-mstd0.5-inc1";
  double smoothing = 0.1;
  double reprob = 0.25;
  std::string remode = "pixel";
  int recount = 1;
  bool resplit = false;
  double mixup = 0.0;
  double cutmix = 0.0;
  FloatList cutmix_minmax;
  double mixup_prob = 1.0;
  double mixup_switch_prob = 0.5;
  std::string mixup_mode = "batch";
  // Added by mae-cpp: train only the last k blocks, the final norm and the head (paper §4.3); None: everything.
  OptionalInt finetune_blocks;

 protected:
  void add_job_fields(std::vector<Field>& fields) override;
  void validate_job() const override;
};

// main_linprobe.py
class LinprobeConfig : public ClassifierConfig {
 public:
  LinprobeConfig();

 protected:
  void add_job_fields(std::vector<Field>& fields) override;
};

}  // namespace mae::config
