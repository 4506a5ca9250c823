#pragma once

namespace mae {

// Builds one visitor for std::visit out of several lambdas: std::visit(Overloaded{[](int) {}, [](double) {}}, v).
template <typename... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

}  // namespace mae
