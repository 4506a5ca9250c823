// Linear probing on two Gloo ranks through the jobs' own train_one_epoch and evaluate: the BatchNorm head's running
// statistics differ between the ranks after training (each saw its own batches), and evaluation runs on rank 0's on
// both, as the reference's DDP (broadcast_buffers) does, so that --dist_eval shards are scored by one model.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "mae/data/folder/image_folder.h"
#include "mae/data/folder/loader.h"
#include "mae/data/augment/pipelines.h"
#include "mae/distributed/communicator.h"
#include "mae/distributed/gradient_sync.h"
#include "mae/engine/grad_scaler.h"
#include "mae/engine/lr_schedule.h"
#include "mae/engine/optimizer.h"
#include "mae/engine/param_groups.h"
#include "mae/io/pth_file.h"
#include "mae/jobs/evaluate.h"
#include "mae/jobs/train_one_epoch.h"
#include "mae/models/vit.h"
#include "support/loopback_job.h"
#include "support/test_support.h"

namespace {

constexpr int kWorldSize = 2;

// Every floating buffer of the model (the probe head's running mean and variance), as one vector.
at::Tensor floating_buffers(const torch::nn::Module& model) {
  std::vector<at::Tensor> flat;
  for (const auto& buffer : model.buffers()) {
    if (at::isFloatingType(buffer.scalar_type())) {
      flat.push_back(buffer.detach().reshape({-1}).clone());
    }
  }
  return at::cat(flat);
}

// args: rank port data_dir output_prefix. Writes the buffers after the epoch (<prefix>.trained) and after evaluation
// (<prefix>.evaluated).
int linear_probe_worker(const std::vector<std::string>& args) {
  const int rank = std::stoi(args.at(0));
  const mae::distributed::LaunchEnv launch = mae::test::loopback_rank(rank, kWorldSize, std::stoi(args.at(1)));
  auto communicator = std::make_shared<mae::distributed::Communicator>(launch, at::kCPU, std::chrono::seconds(60));
  torch::manual_seed(rank);  // different on purpose: the start-up broadcast must make the models equal
  mae::models::VitOptions options{{16, 4, 3, 16, 1, 2, 2.0}, 2, 0.0, false};
  mae::models::VisionTransformer model(options);
  model->use_linear_probe_head();
  mae::models::freeze_all_but_head(*model);
  const mae::distributed::DataParallel parallel = mae::distributed::make_data_parallel(*model, communicator);
  mae::engine::Lars optimizer(mae::engine::linear_probe_groups(*model->probe_head, 0.0), 0.1);
  mae::engine::GradScaler scaler(false);
  mae::jobs::TrainingStep training_step(optimizer, scaler, parallel, {});

  mae::data::LoaderOptions loader_options;
  loader_options.batch_size = 4;
  loader_options.num_workers = 0;
  loader_options.rank = rank;
  loader_options.world_size = kWorldSize;
  const auto images = mae::data::ImageFolder::with_classes(args.at(2));
  mae::data::DataLoader train(images, mae::data::linprobe_train_transform(16), loader_options);
  mae::jobs::train_one_epoch(*model, train, training_step, mae::engine::LrSchedule{0.1, 0.0, 0.0, 1.0}, 0, 0,
                             [&](mae::data::Batch& batch, int64_t) {
                               return at::cross_entropy_loss(model->forward(batch.images), batch.labels);
                             },
                             {});
  mae::io::save_pth(args.at(3) + ".trained", floating_buffers(*model));

  loader_options.shuffle = true;  // --dist_eval
  loader_options.drop_last = false;
  mae::data::DataLoader validation(images, mae::data::eval_transform(16), loader_options);
  mae::jobs::RunContext context;
  context.launch = launch;
  context.communicator = communicator;
  mae::jobs::evaluate(model, validation, context, parallel);
  mae::io::save_pth(args.at(3) + ".evaluated", floating_buffers(*model));
  return 0;
}

const mae::test::WorkerRegistration linear_probe("linear_probe", linear_probe_worker);

TEST(LinearProbeOnTwoRanks, EveryRankEvaluatesWithRankZerosBatchNormStatistics) {
  mae::test::TempDir dir;
  cv::RNG rng(7);
  for (int i = 0; i < 16; ++i) {
    const auto folder = dir / "images" / (i % 2 ? "a" : "b");
    std::filesystem::create_directories(folder);
    cv::Mat image(16, 16, CV_8UC3);
    rng.fill(image, cv::RNG::UNIFORM, 0, 255);
    cv::imwrite((folder / (std::to_string(i) + ".png")).string(), image);
  }
  ASSERT_EQ(mae::test::run_loopback_job("linear_probe", kWorldSize,
                                        [&](int rank) {
                                          return std::vector<std::string>{(dir / "images").string(),
                                                                          (dir / std::to_string(rank)).string()};
                                        },
                                        180),
            std::vector<int>(kWorldSize, 0));
  const auto load = [&](int rank, const std::string& stage) {
    return mae::io::load_pth((dir / (std::to_string(rank) + "." + stage)).string()).toTensor();
  };
  // Training updated each rank's statistics with its own shard: the ranks differ, so equality below is not trivial.
  EXPECT_FALSE(torch::allclose(load(0, "trained"), load(1, "trained")));
  // Evaluation ran on rank 0's statistics everywhere, and rank 0's own were left as they were.
  EXPECT_TRUE(torch::equal(load(0, "evaluated"), load(1, "evaluated")));
  EXPECT_TRUE(torch::equal(load(0, "evaluated"), load(0, "trained")));
}

}  // namespace
