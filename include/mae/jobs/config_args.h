#pragma once
// The `args` entry of a checkpoint: the job's resolved settings, as the reference pickles its argparse Namespace.
#include <ATen/core/ivalue.h>

namespace mae::config {
class JobConfig;
}

namespace mae::jobs {

// The resolved configuration as a dict for `args`: every setting under its official name, keys in name order, each
// value as argparse gives it (bool, int, float, str, None for an unset optional, a list of floats).
c10::IValue config_as_dict(const config::JobConfig& config);

}  // namespace mae::jobs
