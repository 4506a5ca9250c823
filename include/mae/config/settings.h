#pragma once
// What every executable's configuration is: a list of described settings (Field) pointing into the object, checked
// one way. The three jobs (job_config.h), the visualizer and the benchmarks (tool_configs.h) derive from it, so that
// the JSON file, the command line, --help, validation and the written config.json are one code path for all five.
#include <set>
#include <string>
#include <vector>

#include "mae/config/field.h"

namespace mae::config {

class Settings {
 public:
  virtual ~Settings() = default;

  // Every setting, pointing into this object, in --help order.
  std::vector<Field> fields();
  std::vector<Field> fields() const;

  // Checks every field's rule, then the rules that span fields; throws UsageError naming the culprit.
  void validate() const;

  // Whether a config file or the command line set this setting (false: it holds its default).
  bool was_given(const std::string& name) const { return given.contains(name); }
  std::set<std::string> given;  // filled by the config-file and command-line layers

 protected:
  virtual void describe(std::vector<Field>& fields) = 0;
  // Rules across settings, after each field's own rule held.
  virtual void validate_rules() const {}
};

}  // namespace mae::config
