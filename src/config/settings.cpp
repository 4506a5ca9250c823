#include "mae/config/settings.h"

namespace mae::config {

std::vector<Field> Settings::fields() {
  std::vector<Field> described;
  describe(described);
  return described;
}

std::vector<Field> Settings::fields() const {
  // Fields hold non-const pointers so that one description serves reading and writing; this overload only reads.
  return const_cast<Settings*>(this)->fields();
}

void Settings::validate() const {
  for (const Field& field : fields()) {
    check_value(field);
  }
  validate_rules();
}

}  // namespace mae::config
