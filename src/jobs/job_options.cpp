#include "mae/jobs/job_options.h"

#include "mae/config/job_config.h"
#include "mae/engine/training_state.h"
#include "mae/jobs/architecture_settings.h"
#include "mae/jobs/config_args.h"

namespace mae::jobs {

distributed::LaunchSettings launch_settings(const config::JobConfig& config) {
  return {config.dist_on_itp, config.world_size, config.dist_url};
}

engine::ResumeRequest resume_request(const config::JobConfig& config) {
  engine::ResumeRequest request;
  request.resume = config.resume;
  request.output_dir = config.output_dir;
  request.start_epoch = config.start_epoch;
  request.seed = config.seed;
  request.accum_iter = config.accum_iter;
  request.check_architecture = [&config](const c10::IValue& checkpoint_args, const std::string& path) {
    check_same_architecture(checkpoint_args, config, path);
  };
  return request;
}

engine::CheckpointPolicy checkpoint_policy(const config::JobConfig& config) {
  return {config.output_dir, config.epochs, config.save_every, config.save_last, config_as_dict(config)};
}

}  // namespace mae::jobs
