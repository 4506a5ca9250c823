#include "mae/models/state_dict.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <unordered_map>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::models {

NamedTensors state_dict(const torch::nn::Module& module) {
  NamedTensors entries;
  for (const auto& submodule : module.named_modules("", /*include_self=*/true)) {
    const std::string qualifier = submodule.key().empty() ? "" : submodule.key() + ".";
    for (const auto& parameter : submodule.value()->named_parameters(/*recurse=*/false)) {
      entries.emplace_back(qualifier + parameter.key(), parameter.value());
    }
    for (const auto& buffer : submodule.value()->named_buffers(/*recurse=*/false)) {
      entries.emplace_back(qualifier + buffer.key(), buffer.value());
    }
  }
  return entries;
}

LoadReport load_state_dict(torch::nn::Module& module, const NamedTensors& source, bool strict) {
  std::unordered_map<std::string, const at::Tensor*> given;
  for (const auto& [name, tensor] : source) {
    given.emplace(name, &tensor);
  }
  LoadReport report;
  const NamedTensors targets = state_dict(module);
  std::unordered_map<std::string, bool> known;
  std::vector<std::string> shape_mismatches;
  for (const auto& [name, target] : targets) {
    known.emplace(name, true);
    const auto found = given.find(name);
    if (found == given.end()) {
      report.missing_keys.push_back(name);
    } else if (found->second->sizes() != target.sizes()) {
      shape_mismatches.push_back(text("'", name, "' has shape ", found->second->sizes(), " in the checkpoint and ",
                                       target.sizes(), " in the model"));
    }
  }
  if (!shape_mismatches.empty()) {
    // All of them at once: a wrong model size shows as a pattern, not as one key.
    std::string message = text("checkpoint does not fit the model: ", shape_mismatches.size(), " tensors differ in shape: ");
    const std::size_t shown = std::min<std::size_t>(shape_mismatches.size(), 8);
    for (std::size_t i = 0; i < shown; ++i) {
      message += (i ? "; " : "") + shape_mismatches[i];
    }
    throw Error(message + (shown < shape_mismatches.size() ? "; ..." : ""));
  }
  for (const auto& [name, tensor] : source) {
    if (!known.contains(name)) {
      report.unexpected_keys.push_back(name);
    }
  }
  if (strict && (!report.missing_keys.empty() || !report.unexpected_keys.empty())) {
    std::string message = "checkpoint does not fit the model:";
    if (!report.missing_keys.empty()) {
      message += text(" missing ", report.missing_keys.size(), " keys (first: '", report.missing_keys.front(), "')");
    }
    if (!report.unexpected_keys.empty()) {
      message += text(" unexpected ", report.unexpected_keys.size(), " keys (first: '", report.unexpected_keys.front(),
                     "')");
    }
    throw Error(message);
  }
  // Nothing is copied until every check has passed: a rejected checkpoint leaves the model as it was.
  const c10::NoGradGuard no_grad;
  for (const auto& [name, target] : targets) {
    const auto found = given.find(name);
    if (found != given.end()) {
      at::Tensor destination = target;
      destination.copy_(*found->second);
    }
  }
  return report;
}

}  // namespace mae::models
