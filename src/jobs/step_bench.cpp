#include "mae/jobs/step_bench.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "mae/config/job_config.h"
#include "mae/distributed/device_binding.h"
#include "mae/engine/autocast.h"
#include "mae/engine/grad_scaler.h"
#include "mae/engine/losses.h"
#include "mae/engine/optimizer.h"
#include "mae/engine/peak_memory.h"
#include "mae/engine/step_profiler.h"
#include "mae/jobs/recipes.h"
#include "mae/jobs/training_step.h"
#include "mae/models/autocast_scope.h"
#include "mae/models/factory.h"
#include "mae/models/flops.h"
#include "mae/models/mae.h"
#include "mae/models/vit.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::jobs {
namespace {

using Step = std::function<void(const at::Tensor& images, const at::Tensor& labels)>;

// A job's step, driven through the jobs' own TrainingStep (scaled backward, gradient sync, clipping, optimizer
// step), its FLOPs per image, and what keeps its model and optimizer alive. The forward pass runs under autocast as
// in the jobs' loss functions; backward and the update run outside it.
struct PreparedStep {
  Step step;
  double flops_per_image = 0.0;
  std::shared_ptr<void> owner;
};

// What every benchmarked training step owns besides its model: the optimizer, the GradScaler (enabled for fp16, as
// in the jobs), no other ranks, and the TrainingStep over them.
struct StepParts {
  std::unique_ptr<engine::Optimizer> optimizer;
  std::unique_ptr<engine::GradScaler> scaler;
  distributed::DataParallel single_process;
  std::unique_ptr<TrainingStep> training_step;

  void prepare(std::unique_ptr<engine::Optimizer> chosen, const engine::Precision& precision) {
    optimizer = std::move(chosen);
    scaler = std::make_unique<engine::GradScaler>(precision.loss_scaling);
    training_step = std::make_unique<TrainingStep>(*optimizer, *scaler, single_process, StepSettings{});
  }
};

// engine_pretrain.train_one_epoch's step: MAE loss, backward, and main_pretrain.py's optimizer (jobs/recipes) at the
// official default weight decay.
PreparedStep pretrain_step(const models::MaeOptions& architecture, const config::StepBenchConfig& o, const at::Device& device,
                           const engine::Precision& precision) {
  struct Owner {
    models::MaskedAutoencoderViT model;
    StepParts parts;
  };
  auto owner = std::make_shared<Owner>(Owner{models::MaskedAutoencoderViT(architecture), {}});
  owner->model->set_grad_checkpointing(o.grad_checkpointing);
  owner->model->to(device);
  owner->parts.prepare(pretrain_optimizer(*owner->model, config::PretrainConfig().weight_decay, 1.5e-4), precision);
  const double mask_ratio = o.mask_ratio;
  const std::optional<at::ScalarType> autocast = precision.autocast;
  Step step = [owner, mask_ratio, device, autocast](const at::Tensor& images, const at::Tensor&) {
    at::Tensor loss;
    {
      const models::AutocastScope scope(device.type(), autocast);
      loss = owner->model->training_loss(images, mask_ratio);
    }
    owner->parts.training_step->backward_and_update(loss, 0);
  };
  return {step, 3.0 * models::mae_forward_flops(architecture, mask_ratio), owner};
}

// engine_finetune.train_one_epoch's step (no mixup): label-smoothing cross-entropy and main_finetune.py's optimizer;
// linear probing: main_linprobe.py's head and optimizer on the frozen encoder; both from jobs/recipes at the official
// default settings. Inference: eval-mode forward without autograd.
PreparedStep classifier_step(const models::VitOptions& architecture, const config::StepBenchConfig& o,
                             const at::Device& device, const engine::Precision& precision) {
  struct Owner {
    models::VisionTransformer model;
    StepParts parts;
  };
  auto owner = std::make_shared<Owner>(Owner{models::VisionTransformer(architecture), {}});
  models::VisionTransformerImpl& model = *owner->model;
  const double forward = models::vit_forward_flops(architecture);
  double flops = forward;
  if (o.job == "finetune") {
    const config::FinetuneConfig defaults;
    owner->parts.prepare(finetune_optimizer(model, defaults.weight_decay, defaults.layer_decay, 1e-3), precision);
    flops = 3.0 * forward;
  } else if (o.job == "linprobe") {
    prepare_linear_probe(model);
    owner->parts.prepare(linprobe_optimizer(model, config::LinprobeConfig().weight_decay, 0.1), precision);
    // The frozen encoder runs forward only; the head's backward is negligible.
    flops = forward + 2.0 * 2.0 * static_cast<double>(architecture.encoder.embed_dim * architecture.num_classes);
  } else {
    model.eval();
  }
  model.set_grad_checkpointing(o.grad_checkpointing);
  owner->model->to(device);
  const bool training = o.job != "inference";
  const bool probe = o.job == "linprobe";
  const std::optional<at::ScalarType> autocast = precision.autocast;
  Step step = [owner, training, probe, device, autocast](const at::Tensor& images, const at::Tensor& labels) {
    if (!training) {
      const c10::NoGradGuard no_grad;
      const models::AutocastScope scope(device.type(), autocast);
      owner->model->forward(images);
      return;
    }
    at::Tensor loss;
    {
      const models::AutocastScope scope(device.type(), autocast);
      const at::Tensor logits = owner->model->forward(images);
      loss = probe ? at::cross_entropy_loss(logits, labels) : engine::label_smoothing_cross_entropy(logits, labels, 0.1);
    }
    owner->parts.training_step->backward_and_update(loss, 0);
  };
  return {step, flops, owner};
}

// One fixed synthetic batch, already on the device: the step's cost without any input pipeline.
BatchSource synthetic_batches(const config::StepBenchConfig& o, int64_t num_classes, const at::Device& device) {
  const at::Tensor images = at::randn({o.batch_size, 3, o.input_size, o.input_size}).to(device);
  const at::Tensor labels = at::randint(num_classes, {o.batch_size}, at::TensorOptions().dtype(at::kLong)).to(device);
  return [images, labels] { return std::make_pair(images, labels); };
}

// --profile_steps over the bench's steps, warm-up included, into <profile_dir or ./profile>/bench_<job>.steps<A>-<B>.
// pt.trace.json; disarmed without it.
std::unique_ptr<engine::StepProfiler> step_bench_profiler(const config::StepBenchConfig& o, const at::Device& device) {
  if (o.profile_steps.empty()) {
    return std::make_unique<engine::StepProfiler>();
  }
  const engine::ProfileWindow window = engine::parse_profile_window(o.profile_steps);
  const std::filesystem::path folder = o.profile_dir.empty() ? "profile" : o.profile_dir;
  const std::filesystem::path trace =
      folder / text("bench_", o.job, ".steps", window.first, "-", window.end, ".pt.trace.json");
  return std::make_unique<engine::StepProfiler>(window, trace.string(), device);
}

}  // namespace

StepBenchResult run_step_bench(const config::StepBenchConfig& o, const BatchSource& batches) {
  o.validate();
  const at::Device device = distributed::bind_device(o.device, distributed::LaunchEnv{});
  const engine::Precision precision =
      engine::resolve_precision(o.amp, device.is_cuda(), engine::native_bf16(device));
  torch::manual_seed(static_cast<uint64_t>(o.seed));

  StepBenchResult result;
  result.architecture = models::mae_architecture(models::mae_name(o.model));
  result.architecture.encoder.img_size = o.input_size;
  PreparedStep prepared;
  if (o.job == "pretrain") {
    prepared = pretrain_step(result.architecture, o, device, precision);
  } else {
    models::VitOptions classifier = models::vit_architecture(models::classifier_name(o.model));
    classifier.encoder.img_size = o.input_size;
    classifier.global_pool = o.job != "linprobe";
    classifier.drop_path_rate = o.job == "finetune" ? 0.1 : 0.0;
    result.num_classes = classifier.num_classes;
    prepared = classifier_step(classifier, o, device, precision);
  }
  const BatchSource source = batches ? batches : synthetic_batches(o, std::max<int64_t>(result.num_classes, 1), device);

  const std::unique_ptr<engine::StepProfiler> profiler = step_bench_profiler(o, device);
  using Clock = std::chrono::steady_clock;
  std::vector<double> seconds;
  for (int i = 0; i < o.warmup + o.iters; ++i) {
    profiler->step_begins(i);
    const auto start = Clock::now();
    const auto [images, labels] = source();
    prepared.step(images.to(device, /*non_blocking=*/true), labels.to(device, /*non_blocking=*/true));
    if (device.is_cuda()) {
      torch::cuda::synchronize(device.index());
    }
    if (i >= o.warmup) {
      seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
    profiler->step_ends(i);
  }
  std::sort(seconds.begin(), seconds.end());
  result.median_step_seconds = seconds[(seconds.size() - 1) / 2];  // the lower median, as statistics.median_low
  result.images_per_second = o.batch_size / result.median_step_seconds;
  result.flops_per_image = prepared.flops_per_image;
  result.achieved_flops = result.flops_per_image * result.images_per_second;
  if (o.peak_tflops > 0) {
    result.mfu = result.achieved_flops / (o.peak_tflops * 1e12);
  }
  result.peak_memory_bytes = engine::peak_memory(device).bytes;
  result.memory_kind = device.is_cuda() ? "CUDA allocator peak" : "peak RSS";
  result.device = device.str();
  result.precision = engine::describe(precision);
  result.threads = at::get_num_threads();
  return result;
}

std::string to_json(const config::StepBenchConfig& o, const StepBenchResult& r) {
  const models::EncoderOptions& e = r.architecture.encoder;
  nlohmann::ordered_json line{
      {"implementation", "mae-cpp"},
      {"job", o.job},
      {"model", o.model},
      {"batch_size", o.batch_size},
      {"input_size", o.input_size},
      {"amp", o.amp},
      {"precision", r.precision},
      {"grad_checkpointing", o.grad_checkpointing},
      {"device", r.device},
      {"data", o.data_path.empty() ? "synthetic" : o.data_path},
      {"threads", r.threads},
      {"architecture",
       {{"patch_size", e.patch_size},
        {"in_chans", e.in_chans},
        {"embed_dim", e.embed_dim},
        {"depth", e.depth},
        {"num_heads", e.num_heads},
        {"mlp_ratio", e.mlp_ratio},
        {"decoder_embed_dim", r.architecture.decoder_embed_dim},
        {"decoder_depth", r.architecture.decoder_depth},
        {"decoder_num_heads", r.architecture.decoder_num_heads},
        {"mask_ratio", o.mask_ratio},
        {"num_classes", r.num_classes}}},
      {"median_step_seconds", r.median_step_seconds},
      {"images_per_second", r.images_per_second},
      {"flops_per_image", r.flops_per_image},
      {"achieved_tflops", r.achieved_flops / 1e12},
      {"mfu", r.mfu ? nlohmann::ordered_json(*r.mfu) : nlohmann::ordered_json(nullptr)},
      {"peak_memory_bytes", r.peak_memory_bytes},
      {"memory_kind", r.memory_kind}};
  return line.dump();
}

std::string describe(const config::StepBenchConfig& o, const StepBenchResult& r) {
  return text("mae-cpp ", o.job, " step, ", o.model, " at ", o.input_size, " px, batch ", o.batch_size, ", ",
              r.precision, o.grad_checkpointing ? ", grad checkpointing" : "", " on ", r.device, " (", r.threads, " threads), ",
              o.data_path.empty() ? "synthetic data" : "data from " + o.data_path, ":\n", "  step time ",
              fixed(r.median_step_seconds * 1e3, 1), " ms (median of ", o.iters, " after ", o.warmup, " warm-up), ",
              fixed(r.images_per_second, 2), " images/s\n", "  model FLOPs ", fixed(r.flops_per_image / 1e9, 2),
              " GFLOP/image, achieved ", fixed(r.achieved_flops / 1e12, 3), " TFLOP/s",
              r.mfu ? text(", MFU ", fixed(*r.mfu * 100, 1), "%") : std::string(), "\n", "  memory: ", r.memory_kind,
              " ", fixed(static_cast<double>(r.peak_memory_bytes) / (1 << 20), 0), " MiB\n");
}

}  // namespace mae::jobs
