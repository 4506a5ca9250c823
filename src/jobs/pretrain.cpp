#include "mae/jobs/pretrain.h"

#include <ATen/ATen.h>

#include <chrono>

#include "mae/data/loader.h"
#include "mae/engine/lr_schedule.h"
#include "mae/engine/metric_logger.h"
#include "mae/engine/training_state.h"
#include "mae/jobs/architecture_settings.h"
#include "mae/jobs/interval_saves.h"
#include "mae/jobs/job_options.h"
#include "mae/jobs/job_data.h"
#include "mae/jobs/knn_monitor.h"
#include "mae/jobs/preemption.h"
#include "mae/jobs/recipes.h"
#include "mae/jobs/run_context.h"
#include "mae/jobs/train_one_epoch.h"
#include "mae/models/autocast_scope.h"
#include "mae/models/mae.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/stop_signals.h"
#include "mae/util/strings.h"

namespace mae::jobs {

void run_pretraining(const config::PretrainConfig& settings, const distributed::LaunchEnv& launch) {
  config::PretrainConfig config = settings;
  const models::MaeOptions options = resolve_mae_architecture(config);  // before anything records the config
  record_resolved_config(config, launch);
  const RunContext context = make_run_context(config, launch);
  TrainingData data = pretraining_data(config, context, data::pretrain_transform(config.input_size, *config.in_chans));
  log::info(text("Dataset: ", data.description));
  data::BatchStream& loader = *data.loader;

  models::MaskedAutoencoderViT model(options);
  model->set_grad_checkpointing(config.grad_checkpointing);
  model->to(context.device);
  int64_t parameters = 0;
  for (const auto& parameter : model->parameters()) {
    parameters += parameter.numel();
  }
  log::info(text("Model: ", config.model, " at ", config.input_size, " px: ", models::describe(options),
                 "; number of params (M): ", static_cast<double>(parameters) / 1e6));

  const distributed::DataParallel parallel = distributed::make_data_parallel(*model, context.communicator, context.grad_compression);
  const double lr = log_learning_rate(config, context.world_size());

  const std::unique_ptr<engine::Optimizer> optimizer = pretrain_optimizer(*model, config.weight_decay, lr);
  engine::GradScaler scaler(context.precision.loss_scaling);
  TrainingStep training_step(*optimizer, scaler, parallel, {config.accum_iter, std::nullopt});
  const engine::TrainingStart start =
      engine::resume_training(resume_request(config), *model, optimizer.get(), &scaler,
                              {loader.batches_per_epoch(), context.world_size(), loader.order_workers()});
  const engine::LrSchedule schedule{lr, config.min_lr, static_cast<double>(config.warmup_epochs),
                            static_cast<double>(config.epochs)};

  std::optional<KnnMonitor> knn = KnnMonitor::create(config, options, context);
  std::optional<engine::TensorBoardWriter> tensorboard;
  if (context.main_process() && !config.log_dir.empty()) {
    tensorboard.emplace(config.log_dir);
  }
  engine::CheckpointWriter checkpoints;  // rank 0's files, written while the next epoch trains
  const StopSignals stop_signals(static_cast<unsigned>(config.preemption_deadline));
  const std::unique_ptr<engine::StepProfiler> profiler = make_step_profiler(config, context, "pretrain");
  IntervalSaves saves = position_saves(config, context, loader, *model, *optimizer, scaler, checkpoints);
  log::info(text("Start training for ", config.epochs, " epochs"));
  const auto start_time = std::chrono::steady_clock::now();
  for (int64_t epoch = start.epoch; epoch < config.epochs; ++epoch) {
    // engine_pretrain.train_one_epoch: the MAE loss of the batch.
    const EpochStats stats = train_one_epoch(
        *model, loader, training_step, schedule, epoch, epoch == start.epoch ? start.step : 0,
        [&](data::Batch& batch, int64_t step) {
          const at::Tensor images = batch.images.to(context.device, /*non_blocking=*/true);
          seed_step(config.seed, context.rank(), epoch, step);
          const models::AutocastScope autocast(context.device.type(), context.precision.autocast);
          return model->training_loss(images, config.mask_ratio);
        },
        {!config.log_dir.empty(), tensorboard ? &*tensorboard : nullptr, "train_loss"}, profiler.get(), &saves);
    if (stats.stopped_after) {
      stop_with_position_checkpoint(config, context, parallel,
                                    epoch_position(config, context, loader, epoch, *stats.stopped_after), *model,
                                    *optimizer, scaler, checkpoints);
    }
    if (context.main_process()) {
      engine::save_epoch_checkpoints(checkpoint_policy(config), epoch, *model, *optimizer, scaler, checkpoints);
    }
    if (writes_epoch_checkpoint(config, epoch)) {
      saves.restart();
    }
    std::vector<std::pair<std::string, LogValue>> log_fields{{"train_lr", stats.lr}, {"train_loss", stats.loss}};
    if (knn && knn->due(epoch)) {  // after the checkpoint: a failing evaluation loses no training
      const engine::KnnResult result = knn->evaluate(*model, context);  // every rank extracts its part
      log_fields.insert(log_fields.end(), {{"knn_acc1", result.top1}, {"knn_acc5", result.top5}});
      if (tensorboard) {
        tensorboard->add_scalar("knn_acc1", result.top1, epoch);
        tensorboard->add_scalar("knn_acc5", result.top5, epoch);
      }
    }
    if (context.main_process() && !config.output_dir.empty()) {
      log_fields.emplace_back("epoch", epoch);
      append_log_txt(config.output_dir, log_fields);
    }
  }
  checkpoints.wait();  // the last checkpoint is on disk before the job says it is done
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  log::info(text("Training time ", engine::format_duration(seconds)));
}

}  // namespace mae::jobs
