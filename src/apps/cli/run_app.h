#pragma once
// The frame every executable runs in: parse (defaults < --config file < flags), validate, run, and turn any error
// into a one-line message and an exit code (2 for usage and configuration errors, 1 otherwise). The jobs run inside
// it in run_job's frame, which adds what a training process needs.
#include <functional>
#include <string>

#include "command_line.h"
#include "mae/config/job_config.h"
#include "mae/distributed/launch_env.h"

namespace mae::apps {

int run_app(const Program& program, config::Settings& settings, int argc, const char* const* argv,
            const std::function<void()>& body);

// run_app for a job: reads the launcher's environment once (only rank 0 prints progress and writes files), opens
// <output_dir>/<program>.log, logs the runtime, and runs the job with that environment. The job itself writes
// config.json once its shape settings are resolved (jobs::record_resolved_config).
using JobBody = std::function<void(const distributed::LaunchEnv& launch)>;
int run_job(const Program& program, config::JobConfig& config, int argc, const char* const* argv, const JobBody& job);

}  // namespace mae::apps
