#pragma once
// The command line of every mae-cpp executable: official flag names from the job's Field list, `--config file.json`,
// and the order defaults < config file < flags. The only place that knows CLI11.
#include <iosfwd>
#include <string>

#include "mae/config/settings.h"

namespace mae::apps {

struct Program {
  std::string name;         // mae_pretrain
  std::string description;  // one line for --help
  std::string footer;       // the end of --help: an example and where the docs are
};

// The end of a job's --help: what [mae-cpp] means, an example, and the docs.
std::string job_help_footer(const std::string& example, const std::string& docs);

enum class ParseResult { run, help_shown };

// Fills `config` (which must hold its defaults on entry) from --config and the flags, then validates it.
// Prints --help to `help_out`. Throws UsageError with a one-line message on anything it cannot accept.
ParseResult parse_command_line(const Program& program, config::Settings& config, int argc, const char* const* argv,
                               std::ostream& help_out);

}  // namespace mae::apps
