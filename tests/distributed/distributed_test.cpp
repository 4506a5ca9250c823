// Multi-process training on loopback through Gloo: gradient averaging equals a single process over the same global
// batch (with and without --accum_iter), a dead rank fails the others with a clear error, and the launchers'
// environments are read as they are written. The parent hosts the store, as torchrun's agent does.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <fstream>

#include "mae/distributed/communicator.h"
#include "mae/distributed/gradient_sync.h"
#include "mae/distributed/launch_env.h"
#include "mae/distributed/process_group.h"
#include "mae/io/pth_file.h"
#include "mae/models/mae.h"
#include "mae/util/error.h"
#include "support/loopback_job.h"
#include "support/test_support.h"

namespace {

using namespace mae::distributed;

constexpr int kWorldSize = 2;
constexpr int kGlobalBatch = 8;
constexpr int kSteps = 3;

mae::models::MaeOptions tiny_mae() { return {{16, 4, 3, 16, 2, 2, 4.0}, 8, 1, 2}; }

// The global batch of optimizer step `step`: images and masking noise, the same in every process.
std::pair<at::Tensor, at::Tensor> global_batch(int step) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(100 + step);
  return {at::randn({kGlobalBatch, 3, 16, 16}, generator), at::rand({kGlobalBatch, 16}, generator)};
}

// `samples` of the global batch: the micro-batch `micro` of `accum` of rank `rank` among `world` ranks.
std::pair<int64_t, int64_t> slice_of(int rank, int world, int micro, int accum) {
  const int64_t per_rank = kGlobalBatch / world;
  const int64_t per_micro = per_rank / accum;
  const int64_t start = rank * per_rank + micro * per_micro;
  return {start, start + per_micro};
}

// kSteps steps of plain SGD on the MAE loss; with world > 1 through a GradientSynchronizer. Rank r's seed is
// different on purpose: the initial broadcast must make the models equal. SGD keeps the comparison linear in the
// gradients (Adam's g / sqrt(v) would turn rounding in near-zero gradients into lr-sized differences).
at::Tensor train(int rank, int world, int accum, std::shared_ptr<Communicator> communicator) {
  torch::manual_seed(rank == 0 ? 0 : 1000 + rank);
  mae::models::MaskedAutoencoderViT model(tiny_mae());
  DataParallel parallel = make_data_parallel(*model, communicator);
  for (int step = 0; step < kSteps; ++step) {
    const auto [images, noise] = global_batch(step);
    for (int micro = 0; micro < accum; ++micro) {
      if (parallel.gradients) {
        parallel.gradients->set_sync(micro == accum - 1);
      }
      // A single process takes the same micro-step of every rank at once.
      std::vector<at::Tensor> image_parts;
      std::vector<at::Tensor> noise_parts;
      for (int r = (world > 1 ? rank : 0); r < (world > 1 ? rank + 1 : kWorldSize); ++r) {
        const auto [begin, end] = slice_of(r, kWorldSize, micro, accum);
        image_parts.push_back(images.slice(0, begin, end));
        noise_parts.push_back(noise.slice(0, begin, end));
      }
      const auto loss = model->training_loss(at::cat(image_parts), 0.75, at::cat(noise_parts)) / accum;
      loss.backward();
    }
    if (parallel.gradients) {
      parallel.gradients->finish_backward();
    }
    const torch::NoGradGuard no_grad;
    for (auto& parameter : model->parameters()) {
      if (parameter.grad().defined()) {
        parameter.sub_(parameter.grad() * 0.5);
        parameter.mutable_grad() = at::Tensor();
      }
    }
  }
  std::vector<at::Tensor> flat;
  for (const auto& parameter : model->parameters()) {
    flat.push_back(parameter.detach().reshape({-1}));
  }
  return at::cat(flat);
}

// args: rank port accum output
int data_parallel_worker(const std::vector<std::string>& args) {
  const int rank = std::stoi(args.at(0));
  auto communicator = std::make_shared<Communicator>(mae::test::loopback_rank(rank, kWorldSize, std::stoi(args.at(1))),
                                                     at::kCPU, std::chrono::seconds(60));
  const at::Tensor parameters = train(rank, kWorldSize, std::stoi(args.at(2)), communicator);
  mae::io::save_pth(args.at(3), parameters);
  return 0;
}

// args: rank port message_file. Rank 1 leaves after the first all-reduce; rank 0 tries a second one.
int dead_rank_worker(const std::vector<std::string>& args) {
  const int rank = std::stoi(args.at(0));
  Communicator communicator(mae::test::loopback_rank(rank, kWorldSize, std::stoi(args.at(1))), at::kCPU,
                            std::chrono::seconds(10));
  communicator.all_reduce_sum(at::ones({4}), "first all-reduce");
  if (rank == 1) {
    return 0;
  }
  try {
    communicator.all_reduce_sum(at::ones({4}), "all-reduce of gradient bucket 0");
  } catch (const mae::Error& error) {
    std::ofstream(args.at(2)) << error.what();
    return 3;
  }
  return 0;
}

// Rank `rank`'s gradient for the compression test: normal values scaled over 6 orders of magnitude (about 5e-5 to
// 50 times a standard normal), with fp16's subnormals at the low end.
at::Tensor rank_gradient(int rank, int64_t numel) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(500 + rank);
  return at::randn({numel}, generator) * at::exp(at::rand({numel}, generator) * 14 - 10);
}

// Two parameters whose gradients fill two buckets (the first closes at 1 MiB).
constexpr int64_t kSmallParameter = 1000;
constexpr int64_t kLargeParameter = 300'000;

// args: rank port dtype(bf16|fp16) output. Sets each parameter's gradient to rank_gradient through backward and
// writes the synchronized gradients.
int compressed_gradients_worker(const std::vector<std::string>& args) {
  const int rank = std::stoi(args.at(0));
  auto communicator = std::make_shared<Communicator>(mae::test::loopback_rank(rank, kWorldSize, std::stoi(args.at(1))),
                                                     at::kCPU, std::chrono::seconds(60));
  const std::vector<at::Tensor> parameters{at::zeros({kSmallParameter}).requires_grad_(),
                                           at::zeros({kLargeParameter}).requires_grad_()};
  GradientSynchronizer synchronizer(parameters, communicator, args.at(2) == "bf16" ? at::kBFloat16 : at::kHalf);
  const at::Tensor gradient = rank_gradient(rank, kSmallParameter + kLargeParameter);
  ((parameters[0] * gradient.narrow(0, 0, kSmallParameter)).sum() +
   (parameters[1] * gradient.narrow(0, kSmallParameter, kLargeParameter)).sum())
      .backward();
  synchronizer.finish_backward();
  mae::io::save_pth(args.at(3), at::cat({parameters[0].grad(), parameters[1].grad()}));
  return 0;
}

const mae::test::WorkerRegistration data_parallel("data_parallel", data_parallel_worker);
const mae::test::WorkerRegistration compressed_gradients("compressed_gradients", compressed_gradients_worker);
const mae::test::WorkerRegistration dead_rank("dead_rank", dead_rank_worker);

class DataParallelTraining : public ::testing::TestWithParam<int> {};

TEST_P(DataParallelTraining, TwoRanksEqualOneProcessOverTheGlobalBatch) {
  const int accum = GetParam();
  mae::test::TempDir dir;
  ASSERT_EQ(mae::test::run_loopback_job("data_parallel", kWorldSize,
                                        [&](int rank) {
                                          return std::vector<std::string>{std::to_string(accum),
                                                                          (dir / std::to_string(rank)).string()};
                                        },
                                        180),
            std::vector<int>(kWorldSize, 0));
  const at::Tensor rank0 = mae::io::load_pth((dir / "0").string()).toTensor();
  const at::Tensor rank1 = mae::io::load_pth((dir / "1").string()).toTensor();
  const at::Tensor single = train(0, 1, accum, nullptr);
  // The ranks hold identical models; they differ from one process only by the order of float additions.
  EXPECT_TRUE(torch::equal(rank0, rank1));
  const double error = (rank0 - single).abs().max().item<double>();
  std::cout << "[distributed] accum_iter " << accum << ": max |2 ranks - 1 process| = " << error << '\n';
  EXPECT_LT(error, 1e-6);
  // And training really moved the weights (lr 0.5 for 3 steps), so equality is not trivial.
  torch::manual_seed(0);
  mae::models::MaskedAutoencoderViT initial(tiny_mae());
  std::vector<at::Tensor> flat;
  for (const auto& parameter : initial->parameters()) {
    flat.push_back(parameter.detach().reshape({-1}));
  }
  EXPECT_GT((at::cat(flat) - single).abs().max().item<double>(), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(AccumIter, DataParallelTraining, ::testing::Values(1, 2));

TEST(DataParallel, ARankThatLeavesMakesTheOtherFailWithAClearError) {
  mae::test::TempDir dir;
  const auto [store, port] = mae::test::host_agent_store(kWorldSize);
  const auto start = std::chrono::steady_clock::now();
  const int rank0 = mae::test::start_worker("dead_rank", {"0", port, (dir / "message").string()});
  const int rank1 = mae::test::start_worker("dead_rank", {"1", port, (dir / "unused").string()});
  EXPECT_EQ(mae::test::wait_worker(rank1, 60), 0);
  EXPECT_EQ(mae::test::wait_worker(rank0, 60), 3);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 40.0);  // well within the 10 s timeout plus start-up, never a hang
  std::ifstream in(dir / "message");
  const std::string message((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(message.find("rank 0: all-reduce of gradient bucket 0 failed (another rank exited or did not answer "
                         "within 10 s)"),
            std::string::npos)
      << message;
}

// --grad_compression: bf16_compress_hook's arithmetic on 2 Gloo ranks. Each rank's gradient g_r is rounded to 16
// bits (relative error u: 2^-8 for bf16, 2^-11 for fp16), halved (exact for normal numbers), and the two halves are
// summed in 16 bits (u again), so every entry is within 2u (|g_0| + |g_1|) / 2 of the exact mean (plus, for fp16,
// 2^-23 for values in its subnormal range, below 6.1e-5). And it did travel in 16 bits: every entry is a 16-bit value.
class CompressedGradients : public ::testing::TestWithParam<std::string> {};

TEST_P(CompressedGradients, EqualTheMeanWithinTheSixteenBitRounding) {
  const std::string dtype = GetParam();
  mae::test::TempDir dir;
  ASSERT_EQ(mae::test::run_loopback_job(
                "compressed_gradients", kWorldSize,
                [&](int rank) { return std::vector<std::string>{dtype, (dir / std::to_string(rank)).string()}; }, 120),
            std::vector<int>(kWorldSize, 0));
  const at::Tensor rank0 = mae::io::load_pth((dir / "0").string()).toTensor();
  const at::Tensor rank1 = mae::io::load_pth((dir / "1").string()).toTensor();
  EXPECT_TRUE(torch::equal(rank0, rank1));
  const int64_t numel = kSmallParameter + kLargeParameter;
  const at::Tensor g0 = rank_gradient(0, numel).to(at::kDouble);
  const at::Tensor g1 = rank_gradient(1, numel).to(at::kDouble);
  const at::Tensor mean = (g0 + g1) / 2;
  const double u = dtype == "bf16" ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11);
  const double subnormal_floor = dtype == "bf16" ? 0.0 : std::ldexp(1.0, -23);
  const at::Tensor bound = 2.01 * u * (g0.abs() + g1.abs()) / 2 + subnormal_floor;
  const at::Tensor error = (rank0.to(at::kDouble) - mean).abs();
  const double worst = (error / bound).max().item<double>();
  std::cout << "[grad_compression] " << dtype << ": largest |synchronized - exact mean| / bound = " << worst << '\n';
  EXPECT_LE(worst, 1.0);
  EXPECT_GT(error.max().item<double>(), 0.0);  // rounded: not the fp32 all-reduce
  const at::Tensor sixteen_bit = rank0.to(dtype == "bf16" ? at::kBFloat16 : at::kHalf).to(at::kFloat);
  EXPECT_TRUE(torch::equal(rank0, sixteen_bit)) << "an entry holds more than 16 bits: it was not sent compressed";
}

INSTANTIATE_TEST_SUITE_P(Dtype, CompressedGradients, ::testing::Values("bf16", "fp16"));

TEST(GradientSynchronizer, BucketsFollowDdpSizes) {
  // 10 parameters of 1 MiB: the first bucket closes at 1 MiB, the next ones at 25 MiB.
  std::vector<at::Tensor> parameters;
  for (int i = 0; i < 10; ++i) {
    parameters.push_back(at::zeros({1 << 18}).requires_grad_());
  }
  // Buckets are laid out at construction; no collective runs, so no communicator is needed.
  const std::shared_ptr<Communicator> communicator;
  GradientSynchronizer synchronizer(parameters, communicator, std::nullopt, 4 << 20, 1 << 20);
  EXPECT_EQ(synchronizer.bucket_count(), 4);  // 1 MiB, then 4 + 4 + 1 MiB with a 4 MiB cap
}

std::optional<std::string> lookup(const std::map<std::string, std::string>& variables, const std::string& name) {
  const auto found = variables.find(name);
  return found == variables.end() ? std::nullopt : std::optional<std::string>(found->second);
}

LaunchEnv detect(const std::map<std::string, std::string>& variables, LaunchSettings settings = {}) {
  return detect_launch_env(settings, [&](const std::string& name) { return lookup(variables, name); });
}

// torchrun with one process still joins a process group (the reference's rule, and one GPU's NCCL check); one SLURM
// task or plain variables for one rank stay a single process.
TEST(LaunchEnvironment, OneRankIsAProcessGroupOnlyUnderTorchrun) {
  EXPECT_TRUE(detect({{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"TORCHELASTIC_RUN_ID", "abc"}}).distributed());
  EXPECT_FALSE(detect({{"RANK", "0"}, {"WORLD_SIZE", "1"}}).distributed());
  EXPECT_FALSE(detect({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}}).distributed());
  EXPECT_TRUE(detect({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}}).distributed());
}

TEST(LaunchEnvironment, EveryLauncherIsReadAsItWritesItsVariables) {
  const LaunchEnv single = detect({});
  EXPECT_FALSE(single.distributed());
  const LaunchEnv torchrun = detect({{"RANK", "5"}, {"WORLD_SIZE", "16"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "8"},
                                     {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "29511"},
                                     {"TORCHELASTIC_RUN_ID", "abc"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                                     {"TORCHELASTIC_RESTART_COUNT", "2"}, {"TORCHELASTIC_MAX_RESTARTS", "3"},
                                     {"GROUP_RANK", "0"}, {"GROUP_WORLD_SIZE", "2"}});
  EXPECT_EQ(torchrun.launcher, "torchrun");
  EXPECT_EQ(torchrun.rank, 5);
  EXPECT_EQ(torchrun.world_size, 16);
  EXPECT_EQ(torchrun.local_rank, 1);
  EXPECT_EQ(torchrun.master_addr, "node7");
  EXPECT_EQ(torchrun.master_port, 29511);
  EXPECT_TRUE(torchrun.agent_hosts_store);
  EXPECT_EQ(torchrun.restart_count, 2);
  // GROUP_RANK, not rank / local world size: a c10d rendezvous numbers the nodes in the order they joined.
  EXPECT_EQ(describe_place(torchrun), "rank 5 of 16, node 0 of 2, local rank 1 of 8, restart 2 of at most 3");
  const LaunchEnv slurm = detect({{"SLURM_PROCID", "9"}, {"SLURM_NTASKS", "16"}, {"SLURM_LOCALID", "1"},
                                  {"SLURM_NTASKS_PER_NODE", "8(x2)"}, {"SLURM_JOB_NODELIST", "gpu[007-008]"}});
  EXPECT_EQ(slurm.launcher, "SLURM");
  EXPECT_EQ(slurm.rank, 9);
  EXPECT_EQ(slurm.world_size, 16);
  EXPECT_EQ(slurm.local_world_size, 8);
  EXPECT_EQ(slurm.master_addr, "gpu007");
  EXPECT_EQ(slurm.master_port, 29500);
  EXPECT_FALSE(slurm.agent_hosts_store);
  EXPECT_EQ(describe_place(slurm), "rank 9 of 16, node 0 of 2, local rank 1 of 8");  // no SLURM_NODEID: node 0
  // As srun sets them without --ntasks-per-node: the node's id and count, the tasks per node in SLURM_TASKS_PER_NODE.
  const LaunchEnv srun = detect({{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "4"}, {"SLURM_LOCALID", "1"},
                                 {"SLURM_NODEID", "1"}, {"SLURM_NNODES", "2"}, {"SLURM_TASKS_PER_NODE", "2(x2)"},
                                 {"SLURM_JOB_NODELIST", "127.0.0.[1-2]"}});
  EXPECT_EQ(describe_place(srun), "rank 3 of 4, node 1 of 2, local rank 1 of 2");
  // Nodes with different counts: this node's entry, not the first.
  const LaunchEnv uneven = detect({{"SLURM_PROCID", "6"}, {"SLURM_NTASKS", "7"}, {"SLURM_LOCALID", "0"},
                                   {"SLURM_NODEID", "3"}, {"SLURM_NNODES", "4"}, {"SLURM_TASKS_PER_NODE", "2(x3),1"}});
  EXPECT_EQ(describe_place(uneven), "rank 6 of 7, node 3 of 4, local rank 0 of 1");
  EXPECT_EQ(detect({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}, {"SLURM_NODEID", "1"},
                    {"SLURM_TASKS_PER_NODE", "3,1"}}).local_world_size, 1);
  EXPECT_EQ(srun.master_addr, "127.0.0.1");
  LaunchSettings itp;
  itp.dist_on_itp = true;
  itp.dist_url = "tcp://10.0.0.1:23456";
  const LaunchEnv mpi = detect({{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "4"},
                                {"OMPI_COMM_WORLD_LOCAL_RANK", "3"}}, itp);
  EXPECT_EQ(mpi.launcher, "Open MPI");
  EXPECT_EQ(mpi.rank, 3);
  EXPECT_EQ(mpi.master_addr, "10.0.0.1");
  EXPECT_EQ(mpi.master_port, 23456);
  const LaunchEnv mpi_nodes = detect({{"OMPI_COMM_WORLD_RANK", "5"}, {"OMPI_COMM_WORLD_SIZE", "8"},
                                      {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}}, itp);
  EXPECT_EQ(describe_place(mpi_nodes), "rank 5 of 8, node 1 of 2, local rank 1 of 4");
  EXPECT_EQ(first_slurm_host("a1,b2"), "a1");
  EXPECT_EQ(first_slurm_host("n[3,5-6]"), "n3");
}

TEST(LaunchEnvironment, InconsistentSettingsAreNamed) {
  EXPECT_THROW(detect({{"RANK", "2"}, {"WORLD_SIZE", "2"}}), mae::UsageError);
  EXPECT_THROW(detect({{"RANK", "x"}, {"WORLD_SIZE", "2"}}), mae::UsageError);
  EXPECT_THROW(detect({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_WORLD_SIZE", "0"}}), mae::UsageError);
  EXPECT_THROW(detect({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_NODEID", "2"},
                       {"SLURM_TASKS_PER_NODE", "1(x2)"}}), mae::UsageError);  // no entry for node 2
  LaunchSettings four;
  four.world_size = 4;
  EXPECT_THROW(detect({{"RANK", "0"}, {"WORLD_SIZE", "2"}}, four), mae::UsageError);
  try {
    detect({}, four);
    FAIL() << "--world_size 4 without a launcher was accepted";
  } catch (const mae::UsageError& error) {
    EXPECT_NE(std::string(error.what()).find("no launcher started this process"), std::string::npos);
  }
}

}  // namespace
