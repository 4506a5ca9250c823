#include "mae/jobs/pretrain.h"

#include <ATen/ATen.h>

#include "mae/engine/training_state.h"
#include "mae/jobs/architecture_settings.h"
#include "mae/jobs/epoch_loop.h"
#include "mae/jobs/job_data.h"
#include "mae/jobs/job_options.h"
#include "mae/jobs/knn_monitor.h"
#include "mae/jobs/recipes.h"
#include "mae/jobs/run_context.h"
#include "mae/models/autocast_scope.h"
#include "mae/models/mae.h"
#include "mae/util/log.h"
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
  std::optional<KnnMonitor> knn = KnnMonitor::create(config, options, context);
  const EpochLoop loop{config, context, *model, loader, training_step, *optimizer, scaler, start, lr, "pretrain",
                       "train_loss"};
  run_epochs(
      loop,
      [&](data::Batch& batch, int64_t epoch, int64_t step) {  // engine_pretrain.train_one_epoch: the MAE loss
        const at::Tensor images = batch.images.to(context.device, /*non_blocking=*/true);
        seed_step(config.seed, context.rank(), epoch, step);
        const models::AutocastScope autocast(context.device.type(), context.precision.autocast);
        return model->training_loss(images, config.mask_ratio);
      },
      [&](int64_t epoch, const EpochStats& stats, engine::TensorBoardWriter* tensorboard) {
        std::vector<std::pair<std::string, LogValue>> log_fields{{"train_lr", stats.lr}, {"train_loss", stats.loss}};
        if (knn && knn->due(epoch)) {  // after the checkpoint: a failing evaluation loses no training
          const engine::KnnResult result = knn->evaluate(*model, context);  // every rank extracts its part
          log_fields.insert(log_fields.end(), {{"knn_acc1", result.top1}, {"knn_acc5", result.top5}});
          if (tensorboard != nullptr) {
            tensorboard->add_scalar("knn_acc1", result.top1, epoch);
            tensorboard->add_scalar("knn_acc5", result.top5, epoch);
          }
        }
        if (context.main_process() && !config.output_dir.empty()) {
          log_fields.emplace_back("epoch", epoch);
          append_log_txt(config.output_dir, log_fields);
        }
      });
}

}  // namespace mae::jobs
