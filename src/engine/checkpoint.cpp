#include "mae/engine/checkpoint.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include "mae/io/pth_file.h"
#include "mae/io/safetensors.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::engine {
namespace {

c10::impl::GenericDict string_dict() { return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()); }

models::NamedTensors tensors_of(const c10::IValue& state_dict, const std::string& path) {
  if (!state_dict.isGenericDict()) {
    throw UsageError(text("'", path, "' holds no state dict of tensors"));
  }
  models::NamedTensors tensors;
  for (const auto& entry : state_dict.toGenericDict()) {
    if (entry.key().isString() && entry.value().isTensor()) {
      tensors.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
    }
  }
  const std::string prefix = "module.";
  const bool wrapped = !tensors.empty() && std::all_of(tensors.begin(), tensors.end(), [&](const auto& named) {
    return named.first.starts_with(prefix);
  });
  if (wrapped) {
    for (auto& named : tensors) {
      named.first.erase(0, prefix.size());
    }
  }
  return tensors;
}

double as_double(const c10::IValue& value) { return value.isDouble() ? value.toDouble() : static_cast<double>(value.toInt()); }

EpochPosition read_position(const c10::IValue& value, const std::string& path) {
  const char* const keys[] = {"epoch", "step", "steps_per_epoch", "world_size", "seed"};
  const bool complete = value.isGenericDict() && std::ranges::all_of(keys, [&](const char* key) {
    return value.toGenericDict().contains(key) && value.toGenericDict().at(key).isInt();
  });
  if (!complete) {
    throw UsageError(text("'", path, "': its 'epoch_position' entry is not {epoch, step, steps_per_epoch, world_size, ",
                          "seed} as integers"));
  }
  const auto entries = value.toGenericDict();
  EpochPosition position{entries.at("epoch").toInt(), entries.at("step").toInt(), entries.at("steps_per_epoch").toInt(),
                         entries.at("world_size").toInt(), entries.at("seed").toInt()};
  if (entries.contains("loader_workers") && entries.at("loader_workers").isInt()) {
    position.loader_workers = entries.at("loader_workers").toInt();
  }
  if (position.epoch < 0 || position.step <= 0 || position.step >= position.steps_per_epoch ||
      position.world_size < 1) {
    throw UsageError(text("'", path, "': its 'epoch_position' (epoch ", position.epoch, ", step ", position.step, " of ",
                          position.steps_per_epoch, ", world size ", position.world_size, ") is not a position inside ",
                          "an epoch"));
  }
  return position;
}

}  // namespace

void save_training_checkpoint(const std::string& path, const TrainingState& state) {
  auto model = c10::impl::GenericDict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, tensor] : state.model) {
    model.insert(name, tensor);
  }
  auto scaler = string_dict();
  if (state.scaler) {
    scaler.insert("scale", state.scaler->scale);
    scaler.insert("growth_factor", state.scaler->growth_factor);
    scaler.insert("backoff_factor", state.scaler->backoff_factor);
    scaler.insert("growth_interval", state.scaler->growth_interval);
    scaler.insert("_growth_tracker", state.scaler->growth_tracker);
  }
  auto checkpoint = string_dict();
  checkpoint.insert("model", model);
  checkpoint.insert("optimizer", state.optimizer);
  checkpoint.insert("epoch", state.epoch);
  checkpoint.insert("scaler", scaler);
  checkpoint.insert("args", state.args);
  if (state.position) {
    auto position = string_dict();
    position.insert("epoch", state.position->epoch);
    position.insert("step", state.position->step);
    position.insert("steps_per_epoch", state.position->steps_per_epoch);
    position.insert("world_size", state.position->world_size);
    position.insert("seed", state.position->seed);
    if (state.position->loader_workers > 0) {
      position.insert("loader_workers", state.position->loader_workers);
    }
    checkpoint.insert("epoch_position", position);
  }
  io::save_pth(path, checkpoint);
}

TrainingState load_training_checkpoint(const std::string& path) {
  const c10::IValue loaded = io::load_pth(path);
  if (!loaded.isGenericDict() || !loaded.toGenericDict().contains("model")) {
    throw UsageError(text("'", path, "' is not a training checkpoint: it has no 'model' entry"));
  }
  const auto checkpoint = loaded.toGenericDict();
  TrainingState state;
  state.model = tensors_of(checkpoint.at("model"), path);
  if (checkpoint.contains("optimizer")) {
    state.optimizer = checkpoint.at("optimizer");
  }
  if (checkpoint.contains("epoch")) {
    state.epoch = checkpoint.at("epoch").toInt();
  }
  if (checkpoint.contains("scaler") && checkpoint.at("scaler").isGenericDict()) {
    const auto scaler = checkpoint.at("scaler").toGenericDict();
    if (scaler.contains("scale")) {
      GradScalerState s;
      s.scale = as_double(scaler.at("scale"));
      s.growth_factor = as_double(scaler.at("growth_factor"));
      s.backoff_factor = as_double(scaler.at("backoff_factor"));
      s.growth_interval = scaler.at("growth_interval").toInt();
      s.growth_tracker = scaler.at("_growth_tracker").toInt();
      state.scaler = s;
    }
  }
  if (checkpoint.contains("args")) {
    state.args = checkpoint.at("args");
  }
  if (checkpoint.contains("epoch_position")) {
    state.position = read_position(checkpoint.at("epoch_position"), path);
  }
  return state;
}

models::NamedTensors load_model_weights(const std::string& path, io::PthContents contents) {
  if (path.ends_with(".safetensors")) {
    return io::load_safetensors(path).tensors;
  }
  const c10::IValue loaded = io::load_pth(path, contents);
  if (loaded.isGenericDict() && loaded.toGenericDict().contains("model")) {
    return tensors_of(loaded.toGenericDict().at("model"), path);
  }
  return tensors_of(loaded, path);
}

c10::IValue load_checkpoint_args(const std::string& path) {
  if (path.ends_with(".safetensors")) {
    return {};
  }
  const c10::IValue loaded = io::load_pth(path, io::PthContents::metadata_only);
  if (loaded.isGenericDict() && loaded.toGenericDict().contains("args")) {
    return loaded.toGenericDict().at("args");
  }
  return {};
}

std::string checkpoint_file_name(int64_t epoch) { return text("checkpoint-", epoch, ".pth"); }

std::vector<std::string> checkpoints_due(int64_t epoch, int64_t epochs, int64_t save_every, bool save_last) {
  std::vector<std::string> names;
  if ((save_every > 0 && epoch % save_every == 0) || epoch + 1 == epochs) {
    names.push_back(checkpoint_file_name(epoch));
  }
  if (save_last) {
    names.emplace_back(kLastCheckpointName);
  }
  return names;
}

std::optional<ResumeChoice> find_resume_checkpoint(const std::string& output_dir) {
  const std::filesystem::path folder(output_dir);
  if (!std::filesystem::is_directory(folder)) {
    return std::nullopt;
  }
  static const std::regex candidate_name("checkpoint-([0-9]+|last)\\.pth");
  std::vector<std::filesystem::path> candidates;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && std::regex_match(name, candidate_name)) {
      candidates.push_back(entry.path());
    }
  }
  std::ranges::sort(candidates);
  std::optional<ResumeChoice> choice;
  std::pair<int64_t, int64_t> furthest{-1, -1};  // (epoch, step) the chosen file resumes at
  std::string considered;
  for (const auto& path : candidates) {
    std::pair<int64_t, int64_t> resumes_at;
    try {
      const c10::IValue loaded = io::load_pth(path.string(), io::PthContents::metadata_only);
      const auto checkpoint = loaded.toGenericDict();
      if (checkpoint.contains("epoch_position")) {
        const EpochPosition position = read_position(checkpoint.at("epoch_position"), path.string());
        resumes_at = {position.epoch, position.step};
      } else {
        resumes_at = {checkpoint.contains("epoch") ? checkpoint.at("epoch").toInt() + 1 : 0, 0};
      }
    } catch (const std::exception& error) {
      log::warn(text("--resume auto: leaving out ", path.string(), ", which cannot be read: ", error.what()));
      continue;
    }
    considered += text(considered.empty() ? "" : ", ", path.filename().string(), " (epoch ", resumes_at.first,
                       ", step ", resumes_at.second, ")");
    if (resumes_at > furthest) {
      furthest = resumes_at;
      choice = ResumeChoice{path.string(), {}};
    }
  }
  if (choice) {
    choice->considered = considered;
  }
  return choice;
}

}  // namespace mae::engine
