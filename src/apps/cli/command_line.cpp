#include "command_line.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <regex>
#include <ostream>

#include "mae/config/config_file.h"
#include "mae/util/error.h"
#include "mae/util/overloaded.h"
#include "mae/util/strings.h"

namespace mae::apps {
namespace {

constexpr auto kLastWins = CLI::MultiOptionPolicy::TakeLast;

// The value of --config, found before CLI11 parses so that the file's settings sit below the flags' ones.
std::string find_config_path(int argc, const char* const* argv) {
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config") {
      if (i + 1 >= argc) {
        throw UsageError("--config needs a path to a JSON file");
      }
      path = argv[++i];
    } else if (arg.starts_with("--config=")) {
      path = std::string(arg.substr(9));
    }
  }
  return path;
}

std::string help_text(const config::Field& field, const std::string& default_value) {
  return text(field.added_by_mae_cpp ? "[mae-cpp] " : "", field.help, " (default: ", default_value, ")");
}

void add_option(CLI::App& app, const config::Field& field) {
  const std::string flag = "--" + field.name;
  const std::string help = help_text(field, config::format_value(field));
  std::visit(Overloaded{
                 [&](bool* target) {
                   const std::string names = field.negation.empty() ? flag : flag + ",!--" + field.negation;
                   app.add_flag(names, *target, help);
                 },
                 // As argparse: a flag given twice takes its last value.
                 [&](int* target) { app.add_option(flag, *target, help)->multi_option_policy(kLastWins); },
                 [&](double* target) { app.add_option(flag, *target, help)->multi_option_policy(kLastWins); },
                 [&](std::string* target) { app.add_option(flag, *target, help)->multi_option_policy(kLastWins); },
                 [&](config::OptionalInt* target) {
                   app.add_option_function<int>(flag, [target](const int& v) { *target = v; }, help)
                       ->multi_option_policy(kLastWins);
                 },
                 [&](config::OptionalFloat* target) {
                   app.add_option_function<double>(flag, [target](const double& v) { *target = v; }, help)
                       ->multi_option_policy(kLastWins);
                 },
                 [&](config::FloatList* target) {
                   app.add_option_function<std::vector<double>>(
                          flag, [target](const std::vector<double>& v) { *target = v; }, help)
                       ->expected(1, 1 << 20);
                 },
                 [&](config::StringList* target) { app.add_option(flag, *target, help)->expected(1, 1 << 20); },
                 [&](config::OptionalBool* target) {
                   const std::string names = field.negation.empty() ? flag : flag + ",!--" + field.negation;
                   app.add_flag_function(names, [target](int64_t count) { *target = count > 0; }, help);
                 },
             },
             field.target);
}

// Every name a user may type, for suggestions.
std::vector<std::string> known_flags(const std::vector<config::Field>& fields) {
  std::vector<std::string> names{"config", "help"};
  for (const auto& field : fields) {
    names.push_back(field.name);
    if (!field.negation.empty()) {
      names.push_back(field.negation);
    }
  }
  return names;
}

// What the value of a setting must look like, for messages.
std::string expected_kind(const config::Field& field) {
  return std::visit(Overloaded{
                        [](const bool*) { return std::string("no value"); },
                        [](const int*) { return std::string("an integer"); },
                        [](const config::OptionalInt*) { return std::string("an integer"); },
                        [](const double*) { return std::string("a number"); },
                        [](const config::OptionalFloat*) { return std::string("a number"); },
                        [](const config::FloatList*) { return std::string("numbers"); },
                        [](const std::string*) { return std::string("a string"); },
                        [](const config::StringList*) { return std::string("strings"); },
                        [](const config::OptionalBool*) { return std::string("no value"); },
                    },
                    field.target);
}

const config::Field* field_of_flag(const std::string& flag, const std::vector<config::Field>& fields) {
  for (const auto& field : fields) {
    if ("--" + field.name == flag || (!field.negation.empty() && "--" + field.negation == flag)) {
      return &field;
    }
  }
  return nullptr;
}

// CLI11's "Could not convert: --batch_size = abc" in our words.
std::string conversion_message(const std::string& what, const std::vector<config::Field>& fields) {
  static const std::regex conversion(R"(Could not convert: (--[A-Za-z_]+) = (.*))");
  std::smatch match;
  if (std::regex_search(what, match, conversion)) {
    if (const config::Field* field = field_of_flag(match[1].str(), fields)) {
      return text("invalid value for ", field->name, ": '", match[2].str(), "' (", expected_kind(*field),
                  " expected)");
    }
  }
  return what;
}

// An argument CLI11 left over: a stray word (often a value given to a switch), or an unknown flag.
[[noreturn]] void reject_extra(const std::string& arg, int argc, const char* const* argv,
                               const std::vector<config::Field>& fields) {
  if (!arg.starts_with("-")) {
    for (int i = 2; i < argc; ++i) {
      const config::Field* previous = field_of_flag(argv[i - 1], fields);
      if (argv[i] == arg && previous != nullptr && previous->is_flag()) {
        throw UsageError(text("unexpected argument '", arg, "': ", argv[i - 1], " is a switch and takes no value",
                              previous->negation.empty() ? std::string()
                                                         : text(" (--", previous->negation, " turns it off)")));
      }
    }
    throw UsageError(text("unexpected argument '", arg, "': settings are given as --name value (see --help)"));
  }
  std::string name = arg.substr(arg.find_first_not_of('-'));
  name = name.substr(0, name.find('='));
  for (const auto& field : fields) {
    if (!field.former_name.empty() && field.former_name == name) {
      throw UsageError(text("--", name, " is now --", field.name, ", the name every mae-cpp program uses"));
    }
  }
  const std::string suggestion = closest_match(name, known_flags(fields));
  throw UsageError(
      text("unknown flag '", arg, "'", suggestion.empty() ? "" : text(" (did you mean '--", suggestion, "'?)")));
}

// "--name=" (an empty value) as the two words "--name" "": CLI11 reads an empty value after '=' as no value and takes
// the next word instead, so "--log_dir= --epochs 3" set log_dir to "--epochs". argparse gives the empty string.
std::vector<std::string> with_empty_values_split(int argc, const char* const* argv) {
  std::vector<std::string> words(argv, argv + argc);
  for (std::size_t i = 1; i < words.size(); ++i) {
    if (words[i].starts_with("--") && words[i].size() > 3 && words[i].ends_with("=") &&
        words[i].find('=') == words[i].size() - 1) {
      words[i].pop_back();
      words.insert(words.begin() + static_cast<std::ptrdiff_t>(i) + 1, std::string());
      ++i;
    }
  }
  return words;
}

}  // namespace

std::string job_help_footer(const std::string& example, const std::string& docs) {
  return text("Flags marked [mae-cpp] are ours; all others are the official MAE flags with their official defaults.\n",
              "Example: ", example, "\nMore: ", docs, "\n");
}

ParseResult parse_command_line(const Program& program, config::Settings& config, int given_argc,
                               const char* const* given_argv, std::ostream& help_out) {
  const std::vector<std::string> words = with_empty_values_split(given_argc, given_argv);
  std::vector<const char*> word_pointers;
  for (const auto& word : words) {
    word_pointers.push_back(word.c_str());
  }
  const int argc = static_cast<int>(word_pointers.size());
  const char* const* argv = word_pointers.data();
  const std::vector<config::Field> fields = config.fields();
  CLI::App app(program.description, program.name);
  app.allow_extras();
  app.get_formatter()->column_width(30);
  std::string config_path;
  app.add_option("--config", config_path,
                 "[mae-cpp] JSON file of settings (keys = flag names); flags given on the "
                 "command line override it");
  for (const auto& field : fields) {  // help shows the official defaults: registered before the file is applied
    add_option(app, field);
  }
  app.footer(program.footer);

  const bool help_asked =
      std::any_of(argv + 1, argv + argc, [](std::string_view a) { return a == "-h" || a == "--help"; });
  config_path = find_config_path(argc, argv);
  if (!config_path.empty() && !help_asked) {
    config::apply_json_file(config, config_path);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    help_out << app.help();
    return ParseResult::help_shown;
  } catch (const CLI::ParseError& error) {
    throw UsageError(conversion_message(error.what(), fields));
  }
  if (!app.remaining().empty()) {
    reject_extra(app.remaining().front(), argc, argv, fields);
  }
  for (const auto& field : fields) {
    if (app.count("--" + field.name) > 0) {
      config.given.insert(field.name);
    }
  }
  config.validate();
  return ParseResult::run;
}

}  // namespace mae::apps
