#include "mae/config/shared_fields.h"

namespace mae::config {

Field mask_ratio_field(double* target) {
  return Field("mask_ratio", target, "Masking ratio (percentage of removed patches)").at_least(0).below(1);
}

Field device_field(std::string* target, const std::string& purpose) {
  return Field("device", target, purpose + ": cpu, cuda or cuda:N")
      .matching("cpu|cuda(:[0-9]+)?", "cpu, cuda or cuda:N");
}

Field amp_field(std::string* target) {
  return Field("amp", target,
               "Mixed precision: auto (bf16 where the device computes it natively: GPUs of compute capability 8.0 "
               "and newer, CPUs with AMX-BF16 or AVX512-BF16; else fp16 with dynamic loss scaling on GPUs, as the "
               "reference, and off on CPUs), bf16, fp16 or off")
      .one_of({"auto", "bf16", "fp16", "off"})
      .ours();
}

Field feature_pool_field(std::string* target, const std::string& name) {
  return Field(name, target, "Feature of an image: cls (the class token after the final norm) or mean (the mean of "
                             "the patch tokens; docs/features.md)")
      .one_of({"cls", "mean"})
      .ours();
}

Field max_image_pixels_field(int* target) {
  return Field("max_image_pixels", target, "Refuse an image whose header declares more pixels than this, before "
                                           "decoding it, as an unreadable image (default: PIL's decompression-bomb "
                                           "limit; 0: no limit)")
      .at_least(0)
      .ours();
}

Field pipe_timeout_field(int* target) {
  return Field("pipe_timeout", target, "Tar shards: seconds a pipe: command may write nothing before it is killed "
                                       "and its shard counts as unreadable (0: wait forever)")
      .at_least(0)
      .ours();
}

Field grad_checkpointing_field(bool* target) {
  return Field("grad_checkpointing", target, "Recompute each transformer block's activations in backward instead of "
                                             "keeping them: less memory for about one more forward pass (timm's "
                                             "set_grad_checkpointing; docs/training.md)")
      .ours();
}

Field profile_steps_field(std::string* target) {
  return Field("profile_steps", target, "Record training steps A to B-1 with the Kineto profiler into a "
                                        "Chrome/Perfetto trace and log the top ops (A:B, steps counted from 0 at "
                                        "epoch 0; '': no profiling; docs/training.md)")
      .matching("([0-9]+:[0-9]+)?", "A:B, the first step to record and the one after the last")
      .ours();
}

Field profile_dir_field(std::string* target, const std::string& default_text) {
  return Field("profile_dir", target, "Folder of the --profile_steps trace ('': " + default_text + ")").ours();
}

Field knn_k_field(int* target) {
  return Field("knn_k", target, "Neighbours that vote in the kNN classifier (DINO's 20)").at_least(1).ours();
}

Field knn_temperature_field(double* target) {
  return Field("knn_temperature", target, "Temperature T of the kNN votes, exp(similarity / T) (DINO's 0.07)")
      .at_least(1e-6)
      .ours();
}

}  // namespace mae::config
