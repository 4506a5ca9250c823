#include "run_app.h"

#include <c10/util/Exception.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include "mae/engine/runtime_info.h"
#include "mae/io/atomic_file.h"
#include "mae/io/folder_lock.h"
#include "mae/jobs/job_options.h"
#include "mae/util/allocator.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::apps {

int run_app(const Program& program, config::Settings& settings, int argc, const char* const* argv,
            const std::function<void()>& body) {
  tune_allocator_for_training();
  try {
    if (parse_command_line(program, settings, argc, argv, std::cout) == ParseResult::help_shown) {
      return 0;
    }
    body();
    return 0;
  } catch (const c10::Error& error) {
    // LibTorch's message without its C++ backtrace: the first line says what failed.
    const std::string message = error.what_without_backtrace();
    log::error(text(program.name, ": ", message.substr(0, message.find('\n'))));
    return exit_code_for(error);
  } catch (const Preempted& stop) {  // asked for, and resumable: not an error
    log::warn(text(program.name, ": ", stop.what()));
    return kExitPreempted;
  } catch (const std::exception& error) {
    log::error(text(program.name, ": ", error.what()));
    return exit_code_for(error);
  }
}

int run_job(const Program& program, config::JobConfig& config, int argc, const char* const* argv, const JobBody& job) {
  return run_app(program, config, argc, argv, [&] {
    const distributed::LaunchEnv launch = distributed::detect_launch_env(jobs::launch_settings(config), distributed::process_environment());
    log::configure(launch.rank, launch.world_size);
    std::optional<io::FolderLock> one_job_per_folder;  // held until the job ends, however it ends
    if (!config.output_dir.empty() && launch.rank == 0) {
      std::error_code error;
      std::filesystem::create_directories(config.output_dir, error);
      if (error) {
        throw IoError(text("cannot create --output_dir '", config.output_dir, "': ", error.message()));
      }
      one_job_per_folder.emplace(config.output_dir, program.name);
      log::add_file((std::filesystem::path(config.output_dir) / (program.name + ".log")).string());
      const io::RemovedFiles stale = io::remove_stale_temporaries(config.output_dir);
      if (stale.count > 0) {
        log::info(text("removed ", stale.count, " temporary file(s) (", stale.bytes >> 20, " MiB) that processes no ",
                       "longer running left in ", config.output_dir));
      }
    }
    log::info(engine::describe_runtime());
    log::info(text("job dir: ", std::filesystem::current_path().string()));
    job(launch);
  });
}

}  // namespace mae::apps
