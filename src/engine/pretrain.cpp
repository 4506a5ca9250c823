#include "mae/engine/pretrain.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "mae/data/loader.h"
#include "mae/engine/autocast.h"
#include "mae/engine/lr_schedule.h"
#include "mae/engine/metric_logger.h"
#include "mae/engine/run_context.h"
#include "mae/engine/training_state.h"
#include "mae/models/factory.h"
#include "mae/models/mae.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::engine {
namespace {

std::string scientific(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2e", value);
  return buffer;
}

struct EpochStats {
  double lr;
  double loss;
};

// engine_pretrain.train_one_epoch
EpochStats train_one_epoch(models::MaskedAutoencoderViT& model, data::DataLoader& loader, Optimizer& optimizer,
                           GradScaler& scaler, const LrSchedule& schedule, const RunContext& context,
                           const config::PretrainConfig& config, int64_t epoch) {
  model->train();
  loader.start_epoch(epoch);
  const int64_t steps = loader.batches_per_epoch();
  MetricLogger logger(text("Epoch: [", epoch, "]"), steps);
  logger.add_meter("lr", SmoothedValue(1, "value6"));
  optimizer.zero_grad();
  for (int64_t step = 0; step < steps; ++step) {
    auto batch = loader.next();
    logger.batch_loaded();
    if (step % config.accum_iter == 0) {  // per-iteration schedule, on update steps
      optimizer.set_lr(schedule.at(static_cast<double>(step) / static_cast<double>(steps) + static_cast<double>(epoch)));
    }
    const at::Tensor images = batch->images.to(context.device, /*non_blocking=*/true);
    seed_step(config.seed, context.rank, epoch, step);
    at::Tensor loss;
    {
      const AutocastScope autocast(context.device.type(), context.autocast.value_or(at::kBFloat16),
                                   context.autocast.has_value());
      loss = model->forward(images, config.mask_ratio).loss;
    }
    const double loss_value = loss.item<double>();
    if (!std::isfinite(loss_value)) {
      throw Error(text("Loss is ", loss_value, " at epoch ", epoch, " step ", step,
                       ", stopping training (the checkpoints already written are intact)"));
    }
    scaler.scale(loss / config.accum_iter).backward();
    if ((step + 1) % config.accum_iter == 0) {
      scaler.unscale_clip_and_step(optimizer, std::nullopt);
      optimizer.zero_grad();
    }
    logger.update("loss", loss_value);
    logger.update("lr", optimizer.param_groups().front().lr);
    logger.iteration_done(step);
  }
  logger.finish();
  log::info(text("Averaged stats: ", logger.averages()));
  if (loader.skipped_images() > 0) {
    log::warn(text(loader.skipped_images(), " unreadable images were skipped in epoch ", epoch));
  }
  return {logger.global_average("lr"), logger.global_average("loss")};
}

}  // namespace

void run_pretraining(const config::PretrainConfig& config) {
  const RunContext context = make_run_context(config);
  const auto dataset = data::training_images(config.data_path, /*labelled=*/false);
  log::info(text("Dataset: ", dataset.size(), " images under ", dataset.root()));
  data::LoaderOptions loader_options;
  loader_options.batch_size = config.batch_size;
  loader_options.num_workers = config.num_workers;
  loader_options.pin_memory = config.pin_mem && context.device.is_cuda();
  loader_options.seed = static_cast<uint64_t>(config.seed);
  loader_options.strict_data = config.strict_data;
  data::DataLoader loader(dataset, data::pretrain_transform(config.input_size), loader_options);
  if (loader.batches_per_epoch() == 0) {
    throw UsageError(text("--batch_size ", config.batch_size, " is larger than the ", dataset.size(),
                          " training images: no full batch per epoch"));
  }

  models::MaeOptions options = models::mae_architecture(config.model);
  options.encoder.img_size = config.input_size;
  options.norm_pix_loss = config.norm_pix_loss;
  models::MaskedAutoencoderViT model(options);
  model->to(context.device);
  int64_t parameters = 0;
  for (const auto& parameter : model->parameters()) {
    parameters += parameter.numel();
  }
  log::info(text("Model: ", config.model, " at ", config.input_size, " px, number of params (M): ",
                 static_cast<double>(parameters) / 1e6));

  const long effective_batch = static_cast<long>(config.batch_size) * config.accum_iter * context.world_size;
  const double lr = absolute_lr(config.lr, config.blr, effective_batch);
  log::info(text("base lr: ", scientific(lr * 256 / static_cast<double>(effective_batch))));
  log::info(text("actual lr: ", scientific(lr)));
  log::info(text("accumulate grad iterations: ", config.accum_iter));
  log::info(text("effective batch size: ", effective_batch));

  AdamW optimizer(weight_decay_groups(*model, config.weight_decay), lr, {0.9, 0.95});
  GradScaler scaler(context.loss_scaling);
  const int64_t start_epoch = resume_training(config, *model, &optimizer, &scaler);
  const LrSchedule schedule{lr, config.min_lr, static_cast<double>(config.warmup_epochs),
                            static_cast<double>(config.epochs)};

  log::info(text("Start training for ", config.epochs, " epochs"));
  const auto start = std::chrono::steady_clock::now();
  for (int64_t epoch = start_epoch; epoch < config.epochs; ++epoch) {
    const EpochStats stats = train_one_epoch(model, loader, optimizer, scaler, schedule, context, config, epoch);
    save_epoch_checkpoints(config, epoch, *model, optimizer, scaler);
    if (!config.output_dir.empty()) {
      append_log_txt(config.output_dir, {{"train_lr", stats.lr}, {"train_loss", stats.loss}, {"epoch", epoch}});
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log::info(text("Training time ", format_duration(seconds)));
}

}  // namespace mae::engine
