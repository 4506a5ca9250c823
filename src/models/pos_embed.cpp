#include "mae/models/pos_embed.h"

#include <ATen/ATen.h>

#include <cmath>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::models {
namespace {

// [M] positions -> [M, embed_dim]: [sin(pos * omega), cos(pos * omega)], omega_k = 1 / 10000^(k / (embed_dim/2)).
at::Tensor sincos_1d(int64_t embed_dim, const at::Tensor& positions) {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor omega = 1.0 / at::pow(10000.0, at::arange(embed_dim / 2, options) / (embed_dim / 2.0));
  const at::Tensor angles = at::outer(positions.to(at::kDouble), omega);
  return at::cat({at::sin(angles), at::cos(angles)}, 1);
}

}  // namespace

at::Tensor get_2d_sincos_pos_embed(int64_t embed_dim, int64_t grid_size, bool cls_token) {
  if (embed_dim % 4 != 0) {
    throw UsageError(text("embed dim ", embed_dim, " must be divisible by 4 for the 2-D sin-cos position embedding"));
  }
  // numpy.meshgrid(w, h): row-major over (h, w); the first half encodes w (the column), the second h (the row).
  const at::Tensor coordinates = at::arange(grid_size, at::TensorOptions().dtype(at::kDouble));
  const at::Tensor column = coordinates.repeat({grid_size});
  const at::Tensor row = coordinates.repeat_interleave(grid_size);
  at::Tensor table = at::cat({sincos_1d(embed_dim / 2, column), sincos_1d(embed_dim / 2, row)}, 1);
  if (cls_token) {
    table = at::cat({at::zeros({1, embed_dim}, table.options()), table}, 0);
  }
  return table;
}

at::Tensor interpolate_pos_embed(const at::Tensor& pos_embed, int64_t num_extra_tokens, int64_t new_grid) {
  const int64_t dim = pos_embed.size(-1);
  const int64_t old_tokens = pos_embed.size(-2) - num_extra_tokens;
  const auto old_grid = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(old_tokens))));
  if (old_grid * old_grid != old_tokens) {
    throw Error(text("position embedding with ", old_tokens, " patch rows is not a square grid"));
  }
  if (old_grid == new_grid) {
    return pos_embed;
  }
  const at::Tensor extra = pos_embed.slice(1, 0, num_extra_tokens);
  const at::Tensor grid = pos_embed.slice(1, num_extra_tokens).reshape({-1, old_grid, old_grid, dim}).permute({0, 3, 1, 2});
  const at::Tensor resized = at::upsample_bicubic2d(grid, {new_grid, new_grid}, /*align_corners=*/false);
  return at::cat({extra, resized.permute({0, 2, 3, 1}).flatten(1, 2)}, 1);
}

}  // namespace mae::models
