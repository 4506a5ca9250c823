#include "mae/config/field.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>

#include "mae/util/error.h"
#include "mae/util/overloaded.h"
#include "mae/util/strings.h"

namespace mae::config {
namespace {

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

void check_bounds(const Field& field, double value) {
  if (!std::isfinite(value)) {
    throw UsageError(text("invalid value for ", field.name, ": ", format_number(value), " (must be a finite number)"));
  }
  const bool too_small = field.min && value < *field.min;
  const bool too_large = field.max && (field.max_exclusive ? value >= *field.max : value > *field.max);
  if (!too_small && !too_large) {
    return;
  }
  std::string rule;
  if (field.min) {
    rule += ">= " + format_number(*field.min);
  }
  if (field.max) {
    rule += std::string(rule.empty() ? "" : " and ") + (field.max_exclusive ? "< " : "<= ") + format_number(*field.max);
  }
  throw UsageError(text("invalid value for ", field.name, ": ", format_number(value), " (must be ", rule, ")"));
}

}  // namespace

Field::Field(std::string name_, FieldTarget target_, std::string help_)
    : name(std::move(name_)), target(target_), help(std::move(help_)) {}

std::string format_value(const Field& field) {
  return std::visit(Overloaded{
                        [](const bool* v) { return std::string(*v ? "True" : "False"); },
                        [](const int* v) { return std::to_string(*v); },
                        [](const double* v) { return format_number(*v); },
                        [](const std::string* v) { return "'" + *v + "'"; },
                        [](const OptionalInt* v) { return *v ? std::to_string(**v) : std::string("None"); },
                        [](const OptionalFloat* v) { return *v ? format_number(**v) : std::string("None"); },
                        [](const FloatList* v) {
                          if (!*v) {
                            return std::string("None");
                          }
                          std::string out = "[";
                          for (std::size_t i = 0; i < (*v)->size(); ++i) {
                            out += (i ? ", " : "") + format_number((**v)[i]);
                          }
                          return out + "]";
                        },
                        [](const StringList* v) {
                          std::string out = "[";
                          for (std::size_t i = 0; i < v->size(); ++i) {
                            out += (i ? ", '" : "'") + (*v)[i] + "'";
                          }
                          return out + "]";
                        },
                        [](const OptionalBool* v) { return *v ? std::string(**v ? "True" : "False") : "None"; },
                    },
                    field.target);
}

void check_value(const Field& field) {
  std::visit(
      Overloaded{
          [](const bool*) {},
          [&](const int* v) { check_bounds(field, *v); },
          [&](const double* v) { check_bounds(field, *v); },
          [&](const std::string* v) {
            if (field.required_non_empty && v->empty()) {
              throw UsageError(text("invalid value for ", field.name, ": must not be empty"));
            }
            if (!field.choices.empty() &&
                std::find(field.choices.begin(), field.choices.end(), *v) == field.choices.end()) {
              throw UsageError(
                  text("invalid value for ", field.name, ": '", *v, "' (choose from ", join(field.choices), ")"));
            }
            if (!field.pattern.empty() && !std::regex_match(*v, std::regex(field.pattern))) {
              throw UsageError(text("invalid value for ", field.name, ": '", *v, "' (use ", field.pattern_hint, ")"));
            }
          },
          [&](const OptionalInt* v) {
            if (*v) {
              check_bounds(field, **v);
            }
          },
          [&](const OptionalFloat* v) {
            if (*v) {
              check_bounds(field, **v);
            }
          },
          [&](const FloatList* v) {
            if (*v) {
              for (double element : **v) {
                check_bounds(field, element);
              }
            }
          },
          [&](const StringList* v) {
            if (field.required_non_empty && v->empty()) {
              throw UsageError(text("invalid value for ", field.name, ": give at least one"));
            }
          },
          [](const OptionalBool*) {},
      },
      field.target);
}

}  // namespace mae::config
