#include "mae/config/config_file.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mae/util/error.h"
#include "mae/util/overloaded.h"
#include "mae/util/strings.h"

namespace mae::config {
namespace {

using nlohmann::ordered_json;

[[noreturn]] void wrong_type(const std::string& source, const std::string& key, const ordered_json& value,
                             const char* expected) {
  throw UsageError(text(source, ": key '", key, "' must be ", expected, ", got ", value.dump()));
}

double as_number(const std::string& source, const std::string& key, const ordered_json& value) {
  if (!value.is_number()) {
    wrong_type(source, key, value, "a number");
  }
  return value.get<double>();
}

void assign(const Field& field, const ordered_json& value, const std::string& source) {
  const std::string& key = field.name;
  std::visit(Overloaded{
                 [&](bool* target) {
                   if (!value.is_boolean()) {
                     wrong_type(source, key, value, "true or false");
                   }
                   *target = value.get<bool>();
                 },
                 [&](int* target) {
                   if (!value.is_number_integer()) {
                     wrong_type(source, key, value, "an integer");
                   }
                   *target = value.get<int>();
                 },
                 [&](double* target) { *target = as_number(source, key, value); },
                 [&](std::string* target) {
                   if (!value.is_string()) {
                     wrong_type(source, key, value, "a string");
                   }
                   *target = value.get<std::string>();
                 },
                 [&](OptionalInt* target) {
                   if (!value.is_null() && !value.is_number_integer()) {
                     wrong_type(source, key, value, "an integer or null");
                   }
                   *target = value.is_null() ? OptionalInt{} : OptionalInt{value.get<int>()};
                 },
                 [&](OptionalFloat* target) {
                   *target = value.is_null() ? OptionalFloat{} : OptionalFloat{as_number(source, key, value)};
                 },
                 [&](FloatList* target) {
                   if (value.is_null()) {
                     target->reset();
                     return;
                   }
                   if (!value.is_array()) {
                     wrong_type(source, key, value, "a list of numbers or null");
                   }
                   std::vector<double> numbers;
                   for (const auto& element : value) {
                     numbers.push_back(as_number(source, key, element));
                   }
                   *target = std::move(numbers);
                 },
                 [&](StringList* target) {
                   if (!value.is_array()) {
                     wrong_type(source, key, value, "a list of strings");
                   }
                   StringList strings;
                   for (const auto& element : value) {
                     if (!element.is_string()) {
                       wrong_type(source, key, value, "a list of strings");
                     }
                     strings.push_back(element.get<std::string>());
                   }
                   *target = std::move(strings);
                 },
                 [&](OptionalBool* target) {
                   if (!value.is_null() && !value.is_boolean()) {
                     wrong_type(source, key, value, "true, false or null");
                   }
                   *target = value.is_null() ? OptionalBool{} : OptionalBool{value.get<bool>()};
                 },
             },
             field.target);
}

ordered_json to_json_value(const Field& field) {
  return std::visit(Overloaded{
                        [](const bool* v) { return ordered_json(*v); },
                        [](const int* v) { return ordered_json(*v); },
                        [](const double* v) { return ordered_json(*v); },
                        [](const std::string* v) { return ordered_json(*v); },
                        [](const OptionalInt* v) { return *v ? ordered_json(**v) : ordered_json(nullptr); },
                        [](const OptionalFloat* v) { return *v ? ordered_json(**v) : ordered_json(nullptr); },
                        [](const FloatList* v) { return *v ? ordered_json(**v) : ordered_json(nullptr); },
                        [](const StringList* v) { return ordered_json(*v); },
                        [](const OptionalBool* v) { return *v ? ordered_json(**v) : ordered_json(nullptr); },
                    },
                    field.target);
}

}  // namespace

void apply_json(Settings& config, std::string_view json_text, const std::string& source) {
  ordered_json document;
  try {
    document = ordered_json::parse(json_text);
  } catch (const nlohmann::json::exception& error) {  // a syntax error, or a number no double holds (1e400)
    throw UsageError(text(source, ": not valid JSON (", error.what(), ")"));
  }
  if (!document.is_object()) {
    throw UsageError(text(source, ": expected a JSON object of settings, e.g. {\"batch_size\": 64}"));
  }
  const std::vector<Field> fields = config.fields();
  std::vector<std::string> known;
  for (const Field& field : fields) {
    known.push_back(field.name);
    if (!field.negation.empty()) {
      known.push_back(field.negation);
    }
  }
  for (const auto& [key, value] : document.items()) {
    const Field* match = nullptr;
    bool negated = false;
    for (const Field& field : fields) {
      if (field.name == key || field.negation == key) {
        match = &field;
        negated = field.name != key;
        break;
      }
    }
    if (match == nullptr) {
      const std::string suggestion = closest_match(key, known);
      throw UsageError(text(source, ": unknown key '", key, "'",
                           suggestion.empty() ? std::string{} : text(" (did you mean '", suggestion, "'?)")));
    }
    if (negated) {
      // "cls_token": true in a file means what --cls_token means on the command line: global_pool = false.
      if (!value.is_boolean()) {
        wrong_type(source, key, value, "true or false");
      }
      std::visit(Overloaded{[&](bool* target) { *target = !value.get<bool>(); },
                            [&](OptionalBool* target) { *target = !value.get<bool>(); },
                            [](auto*) {}},
                 match->target);
    } else {
      assign(*match, value, source);
    }
    config.given.insert(match->name);
  }
}

void apply_json_file(Settings& config, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw UsageError(text("config file '", path, "' cannot be read: ",
                         std::filesystem::exists(path) ? "permission denied or not a file" : "no such file"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  apply_json(config, text.str(), path);
}

std::string to_json(const Settings& config) {
  ordered_json document = ordered_json::object();
  for (const Field& field : config.fields()) {
    document[field.name] = to_json_value(field);
  }
  return document.dump(2);
}

std::string write_resolved_config(const Settings& config, const std::string& output_dir) {
  std::filesystem::create_directories(output_dir);
  const std::string path = (std::filesystem::path(output_dir) / "config.json").string();
  std::ofstream out(path);
  out << to_json(config) << '\n';
  if (!out) {
    throw IoError(text("cannot write the resolved configuration to '", path, "'"));
  }
  return path;
}

}  // namespace mae::config
