#pragma once
// JSON in and out of a job config. Keys are the official flag names; a key the job does not know is an error that
// names it and the closest valid key.
#include <string>
#include <string_view>

#include "mae/config/job_config.h"

namespace mae::config {

// Applies every key of a JSON object to `config`. `source` names the text in error messages (a file path).
void apply_json(JobConfig& config, std::string_view json_text, const std::string& source);

// Reads and applies a JSON file; a missing or unreadable file is a UsageError naming the path.
void apply_json_file(JobConfig& config, const std::string& path);

// All settings as a JSON object in field order; None becomes null.
std::string to_json(const JobConfig& config);

// Writes to_json(config) to <output_dir>/config.json, creating the folder. Returns the path written.
std::string write_resolved_config(const JobConfig& config, const std::string& output_dir);

}  // namespace mae::config
