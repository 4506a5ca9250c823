#include "run_app.h"

#include <filesystem>
#include <iostream>

#include "mae/config/config_file.h"
#include "mae/engine/launch_env.h"
#include "mae/engine/runtime_info.h"
#include "mae/util/allocator.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::apps {

int run_app(const Program& program, config::JobConfig& config, int argc, const char* const* argv, const JobBody& job) {
  tune_allocator_for_training();
  try {
    if (parse_command_line(program, config, argc, argv, std::cout) == ParseResult::help_shown) {
      return 0;
    }
    // In a multi-process job only rank 0 prints its progress and writes config.json and the log file.
    const engine::LaunchEnv launch = engine::detect_launch_env(config, engine::process_environment());
    log::configure(launch.rank, launch.world_size);
    if (!config.output_dir.empty() && launch.rank == 0) {
      const std::string resolved = config::write_resolved_config(config, config.output_dir);
      log::add_file((std::filesystem::path(config.output_dir) / (program.name + ".log")).string());
      log::info(text(program.name, ": resolved configuration written to ", resolved));
    }
    log::info(engine::describe_runtime());
    log::info(text("job dir: ", std::filesystem::current_path().string()));
    log::info(config::to_json(config));
    job(config);
    return 0;
  } catch (const std::exception& error) {
    log::error(text(program.name, ": ", error.what()));
    return exit_code_for(error);
  }
}

}  // namespace mae::apps

