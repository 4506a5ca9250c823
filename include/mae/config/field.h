#pragma once
// One configurable setting: its official name (argparse dest = JSON key = --flag), where it lives in a job config,
// its help text and the rule its value must satisfy. The CLI and JSON layers are written once against this
// description instead of once per setting.
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace mae::config {

using OptionalInt = std::optional<int>;               // type=int, default=None
using OptionalFloat = std::optional<double>;           // argparse type=float, default=None
using FloatList = std::optional<std::vector<double>>;  // argparse type=float, nargs='+', default=None
using StringList = std::vector<std::string>;           // nargs='+' of strings (file names)
using OptionalBool = std::optional<bool>;              // a flag whose default comes from elsewhere (a checkpoint)
using FieldTarget = std::variant<bool*, int*, double*, std::string*, OptionalInt*, OptionalFloat*, FloatList*,
                                 StringList*, OptionalBool*>;

struct Field {
  Field(std::string name, FieldTarget target, std::string help);

  std::string name;
  FieldTarget target;
  std::string help;
  bool added_by_mae_cpp = false;  // not in the reference's argparse
  std::string negation;           // for a bool: the flag that sets it false (no_pin_mem, cls_token)
  std::optional<double> min;      // inclusive
  std::optional<double> max;      // inclusive unless max_exclusive
  bool max_exclusive = false;
  std::vector<std::string> choices;
  std::string pattern;       // a string must match this regular expression (whole) ...
  std::string pattern_hint;  // ... which this says in words: "cpu, cuda or cuda:N"
  bool required_non_empty = false;
  std::string former_name;  // a spelling this setting had before: refused, naming the current one

  Field& at_least(double bound) {
    min = bound;
    return *this;
  }
  Field& at_most(double bound) {
    max = bound;
    return *this;
  }
  Field& below(double bound) {
    max = bound;
    max_exclusive = true;
    return *this;
  }
  Field& one_of(std::vector<std::string> allowed) {
    choices = std::move(allowed);
    return *this;
  }
  Field& matching(std::string regular_expression, std::string hint) {
    pattern = std::move(regular_expression);
    pattern_hint = std::move(hint);
    return *this;
  }
  Field& negated_by(std::string flag) {
    negation = std::move(flag);
    return *this;
  }
  Field& ours() {
    added_by_mae_cpp = true;
    return *this;
  }
  Field& non_empty() {
    required_non_empty = true;
    return *this;
  }
  Field& formerly(std::string name) {
    former_name = std::move(name);
    return *this;
  }

  bool is_flag() const {
    return std::holds_alternative<bool*>(target) || std::holds_alternative<OptionalBool*>(target);
  }
};

// The value as the reference would print it: 64, 0.001, None, True, 'pixel', [0.1, 0.9].
std::string format_value(const Field& field);

// Throws UsageError naming the field, its value and the allowed range when the value breaks the field's rule.
void check_value(const Field& field);

}  // namespace mae::config
