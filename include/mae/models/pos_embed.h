#pragma once
// util/pos_embed.py: fixed 2-D sin-cos position embeddings and their interpolation to another grid.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace mae::models {

// float64 [grid*grid (+1), embed_dim]: the first half of the channels encodes the column (w) coordinate, the second
// half the row (h), each as [sin, cos] over omega = 1 / 10000^(k / (embed_dim/4)); the cls row is zeros.
// embed_dim must be divisible by 4.
at::Tensor get_2d_sincos_pos_embed(int64_t embed_dim, int64_t grid_size, bool cls_token);

// [1, extra + g*g, D] -> [1, extra + new_grid^2, D]: the first `num_extra_tokens` rows are kept, the grid is resized
// with bicubic interpolation (align_corners=False), as interpolate_pos_embed does when loading weights trained at
// another resolution. Returns the input unchanged when the grid already has that size.
at::Tensor interpolate_pos_embed(const at::Tensor& pos_embed, int64_t num_extra_tokens, int64_t new_grid);

}  // namespace mae::models
