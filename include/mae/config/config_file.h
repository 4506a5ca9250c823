#pragma once
// JSON in and out of any Settings (a job's or a tool's). Keys are the flag names; a key the program does not know is
// an error that names it and the closest valid key.
#include <string>
#include <string_view>

#include "mae/config/settings.h"

namespace mae::config {

// Applies every key of a JSON object to `config`. `source` names the text in error messages (a file path).
void apply_json(Settings& config, std::string_view json_text, const std::string& source);

// Reads and applies a JSON file; a missing or unreadable file is a UsageError naming the path.
void apply_json_file(Settings& config, const std::string& path);

// All settings as a JSON object in field order; None becomes null.
std::string to_json(const Settings& config);

// Writes to_json(config) to <output_dir>/config.json, creating the folder. Returns the path written.
std::string write_resolved_config(const Settings& config, const std::string& output_dir);

}  // namespace mae::config
