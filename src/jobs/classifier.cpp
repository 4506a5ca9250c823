#include "mae/jobs/classifier.h"

#include <ATen/ATen.h>

#include <functional>
#include <memory>

#include "mae/data/augment/mixup.h"
#include "mae/engine/checkpoint.h"
#include "mae/engine/losses.h"
#include "mae/engine/pretrained.h"
#include "mae/engine/training_state.h"
#include "mae/jobs/architecture_settings.h"
#include "mae/jobs/epoch_loop.h"
#include "mae/jobs/evaluate.h"
#include "mae/jobs/job_data.h"
#include "mae/jobs/job_options.h"
#include "mae/jobs/recipes.h"
#include "mae/jobs/run_context.h"
#include "mae/models/autocast_scope.h"
#include "mae/models/vit.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::jobs {
namespace {

using Criterion = std::function<at::Tensor(const at::Tensor& logits, const at::Tensor& targets)>;

// What differs between fine-tuning and linear probing; run_classifier does the rest.
struct Recipe {
  std::string job;  // "finetune" or "linprobe", as the profiler's trace is named
  data::SampleTransform train_transform;
  data::SampleTransform eval_transform;
  models::VitOptions architecture;
  std::string model_name;  // what the log calls the model: --model's name, or where a custom shape came from
  double head_init_std;
  std::function<void(models::VisionTransformerImpl&)> prepare;  // after --finetune loading: wrap/freeze
  std::function<std::unique_ptr<engine::Optimizer>(models::VisionTransformerImpl&, double lr)> make_optimizer;
  Criterion criterion;
  std::string criterion_name;
  std::optional<data::Mixup> mixup;
  std::optional<double> clip_grad;
};

// The reference's "N test images" (len(dataset_val)), less those left out as unreadable; for shards, the samples
// the evaluation read (each once).
int64_t read_images(const ClassificationData& data, const EvalStats& stats) {
  return data.val_counted_by_evaluation ? stats.images : std::max<int64_t>(data.val_images - stats.skipped, 0);
}

void run_classifier(const config::ClassifierConfig& config, const distributed::LaunchEnv& launch, Recipe recipe) {
  const RunContext context = make_run_context(config, launch);
  ClassificationData data = classification_data(config, context, recipe.train_transform, recipe.eval_transform);
  log::info(text("Dataset: ", data.description));
  if (static_cast<int64_t>(data.classes.size()) > config.nb_classes) {
    throw UsageError(text("the data has ", data.classes.size(), " classes but --nb_classes is ", config.nb_classes));
  }
  data::BatchStream& train_loader = *data.train;
  data::BatchStream& val_loader = *data.val;

  models::VisionTransformer model(recipe.architecture);
  if (!config.finetune.empty() && !config.eval) {
    const engine::PretrainedLoad load = engine::load_pretrained_encoder(*model, config.finetune, recipe.head_init_std);
    log::info(text("Load pre-trained checkpoint from: ", config.finetune,
                   load.pos_embed_interpolated ? " (position embedding interpolated)" : "",
                   load.head_dropped ? " (head dropped: other number of classes)" : "", "; ",
                   load.unexpected_keys.size(), " unused keys"));
  }
  recipe.prepare(*model);
  model->set_grad_checkpointing(config.grad_checkpointing);
  model->to(context.device);
  int64_t trainable = 0;
  for (const auto& parameter : model->parameters()) {
    trainable += parameter.requires_grad() ? parameter.numel() : 0;
  }
  log::info(text("Model: ", recipe.model_name, " at ", config.input_size, " px: ", models::describe(recipe.architecture.encoder),
                 "; trainable params (M): ", static_cast<double>(trainable) / 1e6));

  const distributed::DataParallel parallel = distributed::make_data_parallel(*model, context.communicator, context.grad_compression);
  const double lr = log_learning_rate(config, context.world_size());
  log::info(text("criterion = ", recipe.criterion_name));

  std::unique_ptr<engine::Optimizer> optimizer = recipe.make_optimizer(*model, lr);
  engine::GradScaler scaler(context.precision.loss_scaling);
  TrainingStep training_step(*optimizer, scaler, parallel, {config.accum_iter, recipe.clip_grad});
  const engine::TrainingStart start =
      engine::resume_training(resume_request(config), *model, optimizer.get(), &scaler,
                              {train_loader.batches_per_epoch(), context.world_size(), train_loader.order_workers()},
                              /*weights_only=*/config.eval);
  if (config.eval) {
    if (config.resume.empty()) {
      throw UsageError("--eval evaluates the model of --resume PATH: pass the checkpoint to evaluate");
    }
    const EvalStats stats = evaluate(model, val_loader, context, parallel);
    log::info(text("Accuracy of the network on the ", read_images(data, stats), " test images: ",
                   fixed(stats.acc1, 1), "%"));
    return;
  }
  double max_accuracy = 0.0;
  const EpochLoop loop{config, context, *model, train_loader, training_step, *optimizer, scaler, start, lr,
                       recipe.job, "loss"};
  run_epochs(
      loop,
      [&](data::Batch& batch, int64_t epoch, int64_t step) {
        // engine_finetune.train_one_epoch: mixup on the batch, then the criterion on the logits.
        seed_step(config.seed, context.rank(), epoch, step);
        at::Tensor images = batch.images.to(context.device, /*non_blocking=*/true);
        at::Tensor targets = batch.labels.to(context.device, /*non_blocking=*/true);
        if (recipe.mixup) {  // on the device, as the reference; a random stream of its own, apart from the samples'
          // Per rank, as the reference's numpy seeded with seed + rank: each rank draws its own lambda and box.
          data::Rng rng(static_cast<uint64_t>(config.seed + context.rank()) ^ 0x6d69787570ULL,
                        static_cast<uint64_t>(epoch), static_cast<uint64_t>(step));
          targets = recipe.mixup->apply(images, targets, rng).targets;
        }
        const models::AutocastScope autocast(context.device.type(), context.precision.autocast);
        return recipe.criterion(model->forward(images), targets);
      },
      [&](int64_t epoch, const EpochStats& train, engine::TensorBoardWriter* tensorboard) {
        const EvalStats test = evaluate(model, val_loader, context, parallel);
        log::info(text("Accuracy of the network on the ", read_images(data, test), " test images: ",
                       fixed(test.acc1, 1), "%"));
        max_accuracy = std::max(max_accuracy, test.acc1);
        if (tensorboard != nullptr) {
          tensorboard->add_scalar("perf/test_acc1", test.acc1, epoch);
          tensorboard->add_scalar("perf/test_acc5", test.acc5, epoch);
          tensorboard->add_scalar("perf/test_loss", test.loss, epoch);
        }
        log::info(text("Max accuracy: ", fixed(max_accuracy, 2), "%"));
        if (context.main_process() && !config.output_dir.empty()) {
          append_log_txt(config.output_dir, {{"train_lr", train.lr},
                                             {"train_loss", train.loss},
                                             {"test_loss", test.loss},
                                             {"test_acc1", test.acc1},
                                             {"test_acc5", test.acc5},
                                             {"epoch", epoch},
                                             {"n_parameters", trainable}});
        }
      });
}

// The classifier's architecture, from the checkpoint it starts from when that records one: --finetune, else the
// checkpoint --resume names (or finds, with auto). Resolves the shape settings in `config`; `model_name` becomes
// --model's name, or the file's when it names no model.
models::VitOptions classifier_architecture(config::ClassifierConfig& config, std::string& model_name) {
  std::string source = !config.finetune.empty() && !config.eval ? config.finetune : config.resume;
  if (source == "auto") {
    const auto found = config.output_dir.empty() ? std::nullopt : engine::find_resume_checkpoint(config.output_dir);
    source = found ? found->path : "";
  }
  const c10::IValue args = source.empty() ? c10::IValue() : architecture_args_of(source, config);
  models::VitOptions options = resolve_vit_architecture(config, args, source);
  // A file that records no model (a weights-only file, whose shape was read from its weights) must not be logged
  // under --model's default name.
  const bool names_a_model = args.isGenericDict() && args.toGenericDict().contains("model");
  model_name = source.empty() || names_a_model || config.was_given("model")
                   ? config.model
                   : text("the shape of ", source, "'s weights");
  return options;
}

}  // namespace

void run_finetuning(const config::FinetuneConfig& settings, const distributed::LaunchEnv& launch) {
  config::FinetuneConfig config = settings;
  Recipe recipe;
  recipe.job = "finetune";
  recipe.architecture = classifier_architecture(config, recipe.model_name);
  record_resolved_config(config, launch);
  recipe.architecture.drop_path_rate = config.drop_path;
  data::FinetuneAugmentation augmentation;
  augmentation.input_size = config.input_size;
  augmentation.aa = config.aa;
  augmentation.color_jitter = config.color_jitter;
  augmentation.reprob = config.reprob;
  augmentation.remode = config.remode;
  augmentation.recount = config.recount;
  augmentation.in_chans = *config.in_chans;
  recipe.train_transform = data::finetune_train_transform(augmentation);
  recipe.eval_transform = data::eval_transform(config.input_size, *config.in_chans);
  recipe.head_init_std = kFinetuneHeadInitStd;
  recipe.prepare = [blocks = config.finetune_blocks](models::VisionTransformerImpl& model) {
    if (blocks) {  // partial fine-tuning: layer decay then covers only what stays trainable
      models::freeze_all_but_last_blocks(model, *blocks);
    }
  };
  recipe.make_optimizer = [&config](models::VisionTransformerImpl& model, double lr) {
    return finetune_optimizer(model, config.weight_decay, config.layer_decay, lr);
  };
  const bool mixup_active = config.mixup > 0 || config.cutmix > 0 || config.cutmix_minmax.has_value();
  if (mixup_active) {
    data::MixupOptions mixup;
    mixup.mixup_alpha = config.mixup;
    mixup.cutmix_alpha = config.cutmix;
    if (config.cutmix_minmax) {
      mixup.cutmix_minmax = std::array<double, 2>{(*config.cutmix_minmax)[0], (*config.cutmix_minmax)[1]};
    }
    mixup.prob = config.mixup_prob;
    mixup.switch_prob = config.mixup_switch_prob;
    mixup.mode = config.mixup_mode;
    mixup.label_smoothing = config.smoothing;
    mixup.num_classes = config.nb_classes;
    recipe.mixup.emplace(mixup);
    recipe.criterion = engine::soft_target_cross_entropy;
    recipe.criterion_name = "SoftTargetCrossEntropy()";
  } else if (config.smoothing > 0.0) {
    const double smoothing = config.smoothing;
    recipe.criterion = [smoothing](const at::Tensor& logits, const at::Tensor& labels) {
      return engine::label_smoothing_cross_entropy(logits, labels, smoothing);
    };
    recipe.criterion_name = "LabelSmoothingCrossEntropy()";
  } else {
    recipe.criterion = [](const at::Tensor& logits, const at::Tensor& labels) {
      return at::cross_entropy_loss(logits, labels);
    };
    recipe.criterion_name = "CrossEntropyLoss()";
  }
  recipe.clip_grad = config.clip_grad;
  log::info(text("Mixup/CutMix ", mixup_active ? "on" : "off"));
  run_classifier(config, launch, std::move(recipe));
}

void run_linear_probing(const config::LinprobeConfig& settings, const distributed::LaunchEnv& launch) {
  config::LinprobeConfig config = settings;
  Recipe recipe;
  recipe.job = "linprobe";
  if (config.grad_checkpointing) {
    log::info("--grad_checkpointing: the frozen encoder keeps no activations for backward (nothing in it needs a "
              "gradient), so linear probing has nothing to recompute and runs as without it");
  }
  recipe.architecture = classifier_architecture(config, recipe.model_name);
  record_resolved_config(config, launch);
  recipe.architecture.drop_path_rate = 0.0;  // main_linprobe.py builds the model without drop path
  recipe.train_transform = data::linprobe_train_transform(config.input_size, *config.in_chans);
  recipe.eval_transform = data::eval_transform(config.input_size, *config.in_chans);
  recipe.head_init_std = kLinprobeHeadInitStd;
  recipe.prepare = prepare_linear_probe;
  recipe.make_optimizer = [&config](models::VisionTransformerImpl& model, double lr) {
    return linprobe_optimizer(model, config.weight_decay, lr);
  };
  recipe.criterion = [](const at::Tensor& logits, const at::Tensor& labels) {
    return at::cross_entropy_loss(logits, labels);
  };
  recipe.criterion_name = "CrossEntropyLoss()";
  run_classifier(config, launch, std::move(recipe));
}

}  // namespace mae::jobs
