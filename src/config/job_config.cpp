#include "mae/config/job_config.h"

#include "mae/config/shared_fields.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::config {

void JobConfig::describe(std::vector<Field>& f) {
  f.emplace_back("batch_size", &batch_size,
                 "Batch size per GPU (effective batch size is batch_size * accum_iter * "
                 "# gpus)")
      .at_least(1);
  f.emplace_back("epochs", &epochs, "Number of training epochs").at_least(0);
  f.emplace_back("accum_iter", &accum_iter,
                 "Accumulate gradient iterations (for increasing the effective batch size "
                 "under memory constraints)")
      .at_least(1);
  f.emplace_back("model", &model, "Name of model to train").non_empty();
  f.emplace_back("patch_size", &patch_size, "Patch size in pixels, overriding the model's").at_least(1).ours();
  f.emplace_back("in_chans", &in_chans, "Image channels, overriding the model's 3: 1 trains on grayscale")
      .at_least(1)
      .at_most(3)
      .ours();
  f.emplace_back("embed_dim", &embed_dim, "Encoder width, overriding the model's").at_least(1).ours();
  f.emplace_back("depth", &depth, "Encoder blocks, overriding the model's").at_least(1).ours();
  f.emplace_back("num_heads", &num_heads, "Encoder attention heads, overriding the model's").at_least(1).ours();
  f.emplace_back("mlp_ratio", &mlp_ratio, "MLP hidden width / embed_dim, overriding the model's").at_least(0).ours();
  f.emplace_back("weight_decay", &weight_decay, "Weight decay").at_least(0);
  f.emplace_back("lr", &lr, "Learning rate (absolute lr); default: blr * eff_batch / 256").at_least(0);
  f.emplace_back("blr", &blr, "Base learning rate: absolute_lr = base_lr * total_batch_size / 256").at_least(0);
  f.emplace_back("min_lr", &min_lr, "Lower lr bound for cyclic schedulers that hit 0").at_least(0);
  f.emplace_back("warmup_epochs", &warmup_epochs, "Epochs to warmup LR").at_least(0);
  add_job_fields(f);
  f.emplace_back("data_path", &data_path, "Dataset path");
  f.emplace_back("output_dir", &output_dir, "Path where to save, empty for no saving");
  f.emplace_back("log_dir", &log_dir, "Path where to write the TensorBoard log");
  f.push_back(device_field(&device, "Device to use for training / testing"));
  f.emplace_back("seed", &seed, "Random seed (each process adds its rank)");
  f.emplace_back("resume", &resume, "Resume from checkpoint (a path; 'auto': the newest in output_dir, if any)");
  f.emplace_back("start_epoch", &start_epoch, "Start epoch").at_least(0);
  f.emplace_back("num_workers", &num_workers, "Data loading worker threads").at_least(0);
  f.emplace_back("pin_mem", &pin_mem, "Pin CPU memory in DataLoader for more efficient transfer to GPU")
      .negated_by("no_pin_mem");
  f.emplace_back("world_size", &world_size, "Number of distributed processes").at_least(1);
  f.emplace_back("local_rank", &local_rank, "Accepted for torch.distributed.launch; unused");
  f.emplace_back("dist_on_itp", &dist_on_itp, "Take ranks from Open MPI's environment");
  f.emplace_back("dist_url", &dist_url, "URL used to set up distributed training");
  f.emplace_back("dist_timeout", &dist_timeout, "Seconds a collective waits for the other ranks before the job "
                                                "stops (docs/distributed.md)")
      .at_least(1)
      .ours();
  f.emplace_back("save_every", &save_every, "Write checkpoint-<epoch>.pth every N epochs and after the last (0: last "
                                            "only)").at_least(0).ours();
  f.emplace_back("save_last", &save_last, "Write checkpoint-last.pth after every epoch, for --resume auto")
      .negated_by("no_save_last")
      .ours();
  f.push_back(amp_field(&amp));
  f.push_back(grad_checkpointing_field(&grad_checkpointing));
  f.push_back(profile_steps_field(&profile_steps));
  f.push_back(profile_dir_field(&profile_dir, "<output_dir>/profile"));
  f.emplace_back("strict_data", &strict_data, "Stop at an unreadable image instead of skipping it with a warning")
      .ours();
  f.push_back(max_image_pixels_field(&max_image_pixels));
  f.push_back(pipe_timeout_field(&pipe_timeout));
  f.emplace_back("shuffle_buffer", &shuffle_buffer, "Tar shards: samples each loader worker holds to shuffle "
                                                    "across shard boundaries (docs/data.md)")
      .at_least(0)
      .ours();
  f.emplace_back("samples_per_epoch", &samples_per_epoch, "Tar shards: samples an epoch covers, all ranks together "
                                                          "(0: the shards' index.json)")
      .at_least(0)
      .ours();
  f.emplace_back("preemption_deadline", &preemption_deadline, "Seconds after SIGTERM/SIGUSR1 within which the job "
                                                             "must have written its checkpoint, else it ends at once "
                                                             "(0: no deadline; docs/training.md)")
      .at_least(0)
      .ours();
  f.emplace_back("save_interval_minutes", &save_interval_minutes,
                 "Also write checkpoint-last.pth with the position inside the epoch at the first update after every "
                 "M minutes, so that a crash loses at most M minutes (0: only after epochs; docs/distributed.md)")
      .at_least(0)
      .ours();
  f.emplace_back("grad_compression", &grad_compression,
                 "All-reduce the gradients in 16 bits, halving their traffic, as PyTorch's bf16_compress_hook / "
                 "fp16_compress_hook: none, bf16 or fp16 (docs/distributed.md)")
      .one_of({"none", "bf16", "fp16"})
      .ours();
}

void JobConfig::validate_rules() const {
  if (in_chans && *in_chans != 1 && *in_chans != 3) {
    throw UsageError(text("invalid value for in_chans: ", *in_chans, " (images are read as 3-channel RGB or as "
                          "1-channel grayscale)"));
  }
  validate_job();
}

void PretrainConfig::add_job_fields(std::vector<Field>& f) {
  f.emplace_back("input_size", &input_size, "Images input size").at_least(1);
  f.push_back(mask_ratio_field(&mask_ratio));
  f.emplace_back("norm_pix_loss", &norm_pix_loss, "Use (per-patch) normalized pixels as targets for computing loss");
  f.emplace_back("decoder_embed_dim", &decoder_embed_dim, "Decoder width, overriding the model's (512 for the "
                                                          "official models)")
      .at_least(1)
      .ours();
  f.emplace_back("decoder_depth", &decoder_depth, "Decoder blocks, overriding the model's (8)").at_least(1).ours();
  f.emplace_back("decoder_num_heads", &decoder_num_heads, "Decoder attention heads, overriding the model's (16)")
      .at_least(1)
      .ours();
  f.emplace_back("mask_strategy", &mask_strategy, "Which patches are removed: random (the reference), block "
                                                  "(BEiT-style blocks) or grid (one kept in every 2x2)")
      .one_of({"random", "block", "grid"})
      .ours();
  f.emplace_back("loss_on_visible", &loss_on_visible, "Reconstruction loss on all patches, not only the removed "
                                                      "ones")
      .ours();
  f.emplace_back("knn_eval_freq", &knn_eval_freq, "Measure the encoder with the kNN classifier every N epochs and "
                                                  "after the last (0: never)")
      .at_least(0)
      .ours();
  f.emplace_back("knn_data_path", &knn_data_path, "Labelled data of the kNN classifier: train/ and val/ folders of "
                                                  "class subfolders, or of labelled tar shards with index.json")
      .ours();
  f.emplace_back("knn_max_train", &knn_max_train, "At most this many training images for the kNN classifier, "
                                                  "evenly spaced through train/ (shards: read whole, so they may "
                                                  "hold no more)")
      .at_least(1)
      .ours();
  f.push_back(knn_k_field(&knn_k));
  f.push_back(knn_temperature_field(&knn_temperature));
  f.push_back(feature_pool_field(&knn_pool, "knn_pool"));
}

void PretrainConfig::validate_job() const {
  if (knn_eval_freq > 0 && knn_data_path.empty()) {
    throw UsageError(text("--knn_eval_freq ", knn_eval_freq, " needs --knn_data_path, a folder with train/ and val/ "
                          "class subfolders"));
  }
}

ClassifierConfig::ClassifierConfig() {
  model = "vit_large_patch16";
  save_every = 1;  // main_finetune.py and main_linprobe.py save after every epoch
}

void ClassifierConfig::add_job_fields(std::vector<Field>& f) {
  f.emplace_back("finetune", &finetune, "Initialise from this pretrain checkpoint");
  f.emplace_back("global_pool", &global_pool,
                 "Classify from the mean of the patch tokens (--cls_token: from the class "
                 "token)")
      .negated_by("cls_token");
  f.emplace_back("nb_classes", &nb_classes, "Number of the classification types").at_least(1);
  f.emplace_back("eval", &eval, "Perform evaluation only");
  f.emplace_back("dist_eval", &dist_eval,
                 "Enable distributed evaluation (recommended during training for faster "
                 "monitor)");
}

FinetuneConfig::FinetuneConfig() {
  epochs = 50;
  min_lr = 1e-6;
  warmup_epochs = 5;
}

void FinetuneConfig::add_job_fields(std::vector<Field>& f) {
  f.emplace_back("input_size", &input_size, "Images input size; when not given, the --finetune checkpoint's")
      .at_least(1);
  f.emplace_back("drop_path", &drop_path, "Drop path rate").at_least(0).below(1);
  f.emplace_back("clip_grad", &clip_grad, "Clip gradient norm (None: no clipping)").at_least(0);
  f.emplace_back("layer_decay", &layer_decay, "Layer-wise lr decay from ELECTRA/BEiT").at_least(0).at_most(1);
  f.emplace_back("color_jitter", &color_jitter, "Color jitter factor (enabled only when not using Auto/RandAug)")
      .at_least(0);
  f.emplace_back("aa", &aa, "Use AutoAugment policy, e.g. rand-m9-mstd0.5-inc1");
  f.emplace_back("smoothing", &smoothing, "Label smoothing").at_least(0).below(1);
  f.emplace_back("reprob", &reprob, "Random erase prob").at_least(0).at_most(1);
  f.emplace_back("remode", &remode, "Random erase mode").one_of({"pixel", "const", "rand"});
  f.emplace_back("recount", &recount, "Random erase count").at_least(1);
  f.emplace_back("resplit", &resplit, "Do not random erase first (clean) augmentation split (unused)");
  f.emplace_back("mixup", &mixup, "mixup alpha, mixup enabled if > 0").at_least(0);
  f.emplace_back("cutmix", &cutmix, "cutmix alpha, cutmix enabled if > 0").at_least(0);
  f.emplace_back("cutmix_minmax", &cutmix_minmax, "cutmix min/max ratio, two numbers (min max); overrides alpha and enables cutmix if set")
      .at_least(0)
      .at_most(1);
  f.emplace_back("mixup_prob", &mixup_prob, "Probability of performing mixup or cutmix when either/both is enabled")
      .at_least(0)
      .at_most(1);
  f.emplace_back("mixup_switch_prob", &mixup_switch_prob,
                 "Probability of switching to cutmix when both mixup and cutmix enabled")
      .at_least(0)
      .at_most(1);
  f.emplace_back("mixup_mode", &mixup_mode, "How to apply mixup/cutmix params").one_of({"batch", "pair", "elem"});
  f.emplace_back("finetune_blocks", &finetune_blocks, "Train only the last k blocks, the final norm and the head "
                                                      "(0: a linear probe with the fine-tuning recipe)")
      .at_least(0)
      .ours();
  ClassifierConfig::add_job_fields(f);
}

void FinetuneConfig::validate_job() const {
  if (cutmix_minmax && cutmix_minmax->size() != 2) {
    throw UsageError(
        text("invalid value for cutmix_minmax: expected two numbers (min max), got ", cutmix_minmax->size()));
  }
}

LinprobeConfig::LinprobeConfig() {
  batch_size = 512;
  epochs = 90;
  weight_decay = 0.0;
  blr = 0.1;
  warmup_epochs = 10;
  global_pool = false;
}

void LinprobeConfig::add_job_fields(std::vector<Field>& f) {
  f.emplace_back("input_size", &input_size, "Images input size (the reference fixes 224); when not given, the --finetune checkpoint's").at_least(1).ours();
  ClassifierConfig::add_job_fields(f);
}

}  // namespace mae::config
