#pragma once
// Model FLOPs per image, counted as 2 per multiply-add of the matrix products (Linear, the patch projection,
// attention's QK^T and AV), the convention of torch.utils.flop_counter and of MFU figures; normalisation, softmax,
// GELU and additions are left out.
#include "mae/models/architecture.h"

namespace mae::models {

// models_mae.py forward: patch projection of all L patches, encoder on 1 + int(L * (1 - mask_ratio)) tokens,
// decoder on L + 1 tokens, prediction of all L + 1.
double mae_forward_flops(const MaeOptions& options, double mask_ratio);

// models_vit.py forward: encoder on L + 1 tokens and the head.
double vit_forward_flops(const VitOptions& options);

// One transformer block on `tokens` tokens of width `dim` (attention on all of them).
double block_forward_flops(double tokens, double dim, double mlp_ratio);

}  // namespace mae::models
