#include "mae/config/tool_configs.h"

#include "mae/config/shared_fields.h"
#include "mae/util/error.h"

namespace mae::config {

void VisualizeConfig::describe(std::vector<Field>& f) {
  f.emplace_back("checkpoint", &checkpoint, "Pre-training checkpoint (ours or the official .pth)").non_empty();
  f.emplace_back("images", &images, "Image files or folders").non_empty();
  f.emplace_back("output_dir", &output_dir, "Where the PNGs go");
  f.emplace_back("model", &model, "Model name (default: the architecture the checkpoint records)");
  f.emplace_back("input_size", &input_size, "Input size (default: the checkpoint's, else the model's)").at_least(1);
  f.emplace_back("norm_pix_loss", &norm_pix_loss,
                 "Whether the model predicts normalised patches (default: the checkpoint's)")
      .negated_by("no_norm_pix_loss");
  f.push_back(mask_ratio_field(&mask_ratio));
  f.emplace_back("seed", &seed, "Seed of the random masking (the demo's 2)");
}

void ExtractConfig::describe(std::vector<Field>& f) {
  f.emplace_back("checkpoint", &checkpoint, "Checkpoint whose encoder extracts (pre-training, fine-tuning, probing, "
                                            "or an official released .pth)");
  f.emplace_back("data_path", &data_path, "Images to extract: a folder of class subfolders (labels in ImageFolder "
                                          "order) or of images, or tar shards (one process)");
  f.emplace_back("output", &output, "The features file (.safetensors); image paths go to <output without "
                                    ".safetensors>.paths.txt");
  f.emplace_back("model", &model, "Model name (default: the architecture the checkpoint records)");
  f.emplace_back("input_size", &input_size, "Input size (default: the checkpoint's)").at_least(1);
  f.emplace_back("num_heads", &num_heads, "Attention heads, for a checkpoint that records no settings (an official "
                                          "released file: default --model's, else width / 64)")
      .at_least(1);
  f.push_back(feature_pool_field(&pool));
  f.emplace_back("fp16", &fp16, "Store the features as float16 instead of float32");
  f.emplace_back("batch_size", &batch_size, "Images per forward pass").at_least(1);
  f.emplace_back("num_workers", &num_workers, "Data loading worker threads").at_least(0);
  f.push_back(device_field(&device, "Device to extract on"));
  f.push_back(amp_field(&amp));
  f.emplace_back("dist_url", &dist_url, "URL used to set up distributed extraction (torchrun: env://)");
  f.emplace_back("dist_timeout", &dist_timeout, "Seconds a collective waits for the other ranks").at_least(1);
  f.emplace_back("knn_train", &knn_train, "Training features file: run the kNN classifier on the test features "
                                          "against it");
  f.emplace_back("knn_test", &knn_test, "Test features file for --knn_train (without --checkpoint; with it, the "
                                        "file just written is the test set)");
  f.push_back(knn_k_field(&knn_k));
  f.push_back(knn_temperature_field(&knn_temperature));
  f.push_back(max_image_pixels_field(&max_image_pixels));
  f.push_back(pipe_timeout_field(&pipe_timeout));
}

void ExtractConfig::validate_rules() const {
  if (extracts()) {
    if (data_path.empty() || output.empty()) {
      throw UsageError("--checkpoint needs --data_path (the images) and --output (the features file)");
    }
    if (!knn_test.empty()) {
      throw UsageError("--knn_test is for evaluating two existing feature files without --checkpoint; with "
                       "--checkpoint the file written to --output is the test set");
    }
  } else if (knn_train.empty() || knn_test.empty()) {
    throw UsageError("nothing to do: give --checkpoint, --data_path and --output to extract features (and "
                     "--knn_train to evaluate them), or --knn_train and --knn_test to evaluate two feature files");
  }
}

void ShardConfig::describe(std::vector<Field>& f) {
  f.emplace_back("data_path", &data_path, "Image folder to pack: with train/ and val/ (each packed on its own), or "
                                          "class folders, or plain images")
      .non_empty();
  f.emplace_back("output_dir", &output_dir, "Where the shards and index.json go (<output_dir>/train/... for a "
                                            "train/ input); must not exist with shards in it")
      .non_empty();
  f.emplace_back("shard_size_mb", &shard_size_mb, "A shard closes once it holds this many MiB of tar data ...")
      .at_least(1e-6);
  f.emplace_back("samples_per_shard", &samples_per_shard, "... or this many samples, whichever comes first (0: no "
                                                          "count limit)")
      .at_least(0);
  f.emplace_back("resize", &resize, "Re-encode: shorter side down to this many pixels (0: keep the size)").at_least(0);
  f.emplace_back("jpeg_quality", &jpeg_quality, "Re-encode every image as a JPEG of this quality (0: keep the bytes; "
                                                "95 for resized images)")
      .at_least(0)
      .at_most(100);
  f.emplace_back("num_workers", &num_workers, "Threads that read, check and re-encode images").at_least(1);
  f.emplace_back("strict_data", &strict_data, "Stop at an unreadable image instead of skipping it with a warning");
  f.push_back(max_image_pixels_field(&max_image_pixels));
}

void StepBenchConfig::describe(std::vector<Field>& f) {
  f.emplace_back("job", &job, "The step to time").one_of({"pretrain", "finetune", "linprobe", "inference"});
  f.emplace_back("model", &model, "Model name (MAE or classifier; each job takes its own)").non_empty();
  f.emplace_back("batch_size", &batch_size, "Images per step").at_least(1);
  f.emplace_back("input_size", &input_size, "Image size").at_least(1);
  f.push_back(amp_field(&amp));
  f.push_back(device_field(&device, "Device to time on"));
  f.emplace_back("warmup", &warmup, "Untimed steps first").at_least(0);
  f.emplace_back("iters", &iters, "Timed steps (the median is reported)").at_least(1);
  f.push_back(mask_ratio_field(&mask_ratio));
  f.emplace_back("data_path", &data_path, "Images as pre-training finds them (a folder, its train/, or tar "
                                          "shards): feed the steps through the real loader ('': one synthetic batch)")
      .formerly("data");
  f.emplace_back("num_workers", &num_workers, "Loader threads with --data_path").at_least(0);
  f.emplace_back("peak_tflops", &peak_tflops, "The device's peak TFLOP/s for the precision, to report the MFU")
      .at_least(0);
  f.emplace_back("seed", &seed, "Seed of the weights and synthetic data").at_least(0);
  f.emplace_back("json", &json, "Print one JSON line instead of text");
  f.push_back(grad_checkpointing_field(&grad_checkpointing));
  f.push_back(profile_steps_field(&profile_steps));
  f.push_back(profile_dir_field(&profile_dir, "./profile"));
}

void DataBenchConfig::describe(std::vector<Field>& f) {
  f.emplace_back("data_path", &data_path, "Folder of images, or tar shards (docs/data.md)").non_empty().formerly("data");
  f.emplace_back("num_workers", &num_workers, "Loader worker threads (0: in the calling thread)")
      .at_least(0)
      .formerly("workers");
  f.emplace_back("batch_size", &batch_size, "Images per batch").at_least(1);
  f.emplace_back("input_size", &input_size, "Output size").at_least(1);
  f.emplace_back("epochs", &epochs, "Timed passes over the folder").at_least(1);
  f.emplace_back("shuffle_buffer", &shuffle_buffer, "Tar shards: samples each worker holds to shuffle").at_least(0);
}

}  // namespace mae::config
