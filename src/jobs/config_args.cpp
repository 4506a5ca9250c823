#include "mae/jobs/config_args.h"

#include <algorithm>

#include "mae/config/job_config.h"
#include "mae/util/overloaded.h"

namespace mae::jobs {
namespace {

// A setting as the Python value argparse gives it: bool, int, float, str, None for an unset optional, a list of floats.
c10::IValue field_value(const config::Field& field) {
  return std::visit(Overloaded{
                        [](const bool* v) { return c10::IValue(*v); },
                        [](const int* v) { return c10::IValue(int64_t{*v}); },
                        [](const double* v) { return c10::IValue(*v); },
                        [](const std::string* v) { return c10::IValue(*v); },
                        [](const config::OptionalInt* v) { return *v ? c10::IValue(int64_t{**v}) : c10::IValue(); },
                        [](const config::OptionalFloat* v) { return *v ? c10::IValue(**v) : c10::IValue(); },
                        [](const config::FloatList* v) {
                          if (!*v) {
                            return c10::IValue();
                          }
                          c10::impl::GenericList list(c10::AnyType::get());
                          for (const double number : **v) {
                            list.push_back(number);
                          }
                          return c10::IValue(list);
                        },
                        [](const config::StringList* v) {
                          c10::impl::GenericList list(c10::AnyType::get());
                          for (const auto& element : *v) {
                            list.push_back(element);
                          }
                          return c10::IValue(list);
                        },
                        [](const config::OptionalBool* v) { return *v ? c10::IValue(**v) : c10::IValue(); },
                    },
                    field.target);
}

}  // namespace

c10::IValue config_as_dict(const config::JobConfig& config) {
  std::vector<config::Field> fields = config.fields();
  // Keys in name order rather than field order: the order every checkpoint written so far has, kept so that the files
  // written do not change.
  std::ranges::sort(fields, {}, &config::Field::name);
  auto dict = c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get());
  for (const config::Field& field : fields) {
    dict.insert(field.name, field_value(field));
  }
  return dict;
}

}  // namespace mae::jobs
