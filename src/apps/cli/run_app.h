#pragma once
// The frame every executable runs in: parse, set up logging and the output folder, log the resolved configuration,
// run the job, and turn any error into a one-line message and an exit code (2 for usage/config errors).
#include <functional>
#include <string>

#include "command_line.h"

namespace mae::apps {

using JobBody = std::function<void(const config::JobConfig&)>;

int run_app(const Program& program, config::JobConfig& config, int argc, const char* const* argv, const JobBody& job);

}  // namespace mae::apps

