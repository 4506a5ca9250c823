#pragma once
// The one place where a job's settings become the option structs of the layers below it, which never see the
// settings themselves: the launch (distributed), resuming and writing checkpoints (engine).
#include "mae/distributed/launch_env.h"

namespace mae::config {
class JobConfig;
}

namespace mae::engine {
struct ResumeRequest;
struct CheckpointPolicy;
}  // namespace mae::engine

namespace mae::jobs {

// --dist_on_itp, --world_size, --dist_url.
distributed::LaunchSettings launch_settings(const config::JobConfig& config);

// --resume, --output_dir, --start_epoch, --seed, --accum_iter; a resumed checkpoint's recorded architecture must be
// the run's (check_same_architecture).
engine::ResumeRequest resume_request(const config::JobConfig& config);

// --output_dir, --epochs, --save_every, --save_last, and the resolved settings as the checkpoints' `args`. Make it
// once the job has resolved its shape settings, so that `args` records the whole architecture.
engine::CheckpointPolicy checkpoint_policy(const config::JobConfig& config);

}  // namespace mae::jobs
