// MaskedAutoencoderViT::training_loss: forward(imgs, mask_ratio, noise).loss with the same gradients, computing only
// what the loss needs. It is the training step's path (jobs' pretrain and the step benchmark); mae.cpp stays the
// line-by-line twin of models_mae.py, and tests/models/training_loss_test.cpp proves the two equal (loss and every
// parameter's gradient, fp32 and bf16 autocast, norm_pix_loss on and off).
//
// What it computes differently: the loss reads the prediction of removed patches only (unless loss_on_visible, where
// every prediction counts and this is forward(...).loss), so
//   - only the kept patches are embedded (PatchEmbed::forward_patches);
//   - the decoder runs in shuffled order: cls, the kept patches, then the removed ones in ids_shuffle's order, each
//     token with its own position's row of decoder_pos_embed, instead of unshuffling with ids_restore;
//   - the first decoder block computes norm1 and qkv of the mask tokens once per position for the whole batch;
//   - the last decoder block, decoder_norm and decoder_pred compute the removed patches' rows only.
//
// The invariants that make this equal to forward(), and how each is held:
//   1. A patch's embedding depends on that patch only: PatchEmbed's Conv2d has kernel = stride = patch_size, so it is
//      one matrix product per patch. Held by PatchEmbed's construction (layers.cpp), not checked here.
//   2. Decoder attention does not see token order: positions enter only through decoder_pos_embed, added to the
//      inputs; Attention has no mask and no relative-position bias. Held by the types: checked that every decoder
//      block is a Block (and that there is at least one, the block that takes the shared rows).
//   3. Apart from attention, the decoder is per token: norm1/norm2/decoder_norm are LayerNorms over the last
//      dimension only, and Linear/GELU/residual act row by row, so rows nobody reads can be left out. Checked: every
//      decoder LayerNorm normalises over {decoder_embed_dim} alone.
//   4. Decoder tokens depend on position only: a removed patch's input to the first decoder block is
//      mask_token + decoder_pos_embed[1 + patch], with nothing from its sample, so norm1(.) and qkv(.) of it can be
//      computed once per position ([1, L, D]) and gathered for each sample. Checked: mask_token is [1, 1, D] (one
//      token shared by every sample and position, as the reference's nn.Parameter(torch.zeros(1, 1, D))) and
//      decoder_pos_embed is [1, 1 + L, D] (one row per position, shared by every sample).
//   5. No drop path in the decoder: models_mae.py builds its decoder blocks without it, and the equality argued here
//      and tested is that of a deterministic decoder. (Per-sample stochastic depth would commute with leaving rows
//      out, and would even draw the same [N, 1, 1] numbers in the same order as forward(); that coincidence of random
//      streams is neither argued nor tested, so it is excluded.) Checked: every decoder block's drop_prob is 0.
// check_training_loss_invariants() checks 2-5 without running anything (sizes and options only); the constructor
// calls it, and so may anyone who edits a built model's members.
#include <ATen/ATen.h>

#include <cstddef>
#include <string>
#include <vector>

#include "mae/models/grad_checkpoint.h"
#include "mae/models/mae.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::models {
namespace {

Error broken_invariant(const std::string& invariant, const std::string& found) {
  return Error(text("MaskedAutoencoderViT::training_loss relies on ", invariant, ", but ", found,
                    " (src/models/mae_training_loss.cpp lists its invariants)"));
}

}  // namespace

void MaskedAutoencoderViTImpl::check_training_loss_invariants() const {
  const int64_t dim = options_.decoder_embed_dim;
  const int64_t length = options_.encoder.num_patches();
  // Invariant 2: at least one decoder block, each a Block.
  if (decoder_blocks->is_empty()) {
    throw broken_invariant("at least one decoder block (the first takes the shared mask-token rows)",
                           "decoder_blocks is empty");
  }
  // Invariant 3.
  const auto require_per_token = [&](const torch::nn::LayerNorm& norm, const std::string& name) {
    const std::vector<int64_t>& shape = norm->options.normalized_shape();
    if (shape != std::vector<int64_t>{dim}) {
      throw broken_invariant(text("decoder LayerNorms over each token alone ([", dim, "])"),
                             text(name, " normalises over ", at::IntArrayRef(shape)));
    }
  };
  for (std::size_t i = 0; i < decoder_blocks->size(); ++i) {
    const std::string name = text("decoder_blocks.", i);
    const BlockImpl* block = decoder_blocks->ptr(i)->as<BlockImpl>();
    if (block == nullptr) {
      throw broken_invariant("decoder blocks that are transformer Blocks (attention blind to token order)",
                             text(name, " is a ", decoder_blocks->ptr(i)->name()));
    }
    // Invariant 5.
    if (block->drop_path->drop_prob != 0.0) {
      throw broken_invariant("no drop path in the decoder (as models_mae.py builds it)",
                             text(name, " has drop path ", block->drop_path->drop_prob));
    }
    require_per_token(block->norm1, name + ".norm1");
    require_per_token(block->norm2, name + ".norm2");
  }
  require_per_token(decoder_norm, "decoder_norm");
  // Invariant 4.
  if (!mask_token.defined() || mask_token.sizes() != at::IntArrayRef{1, 1, dim}) {
    throw broken_invariant(
        text("decoder tokens that depend on position only: one mask_token [1, 1, ", dim, "] for every sample"),
        mask_token.defined() ? text("mask_token has shape ", mask_token.sizes()) : std::string("it is undefined"));
  }
  if (!decoder_pos_embed.defined() || decoder_pos_embed.sizes() != at::IntArrayRef{1, 1 + length, dim}) {
    throw broken_invariant(text("decoder tokens that depend on position only: one decoder_pos_embed [1, ", 1 + length,
                                ", ", dim, "] for every sample"),
                           decoder_pos_embed.defined() ? text("decoder_pos_embed has shape ", decoder_pos_embed.sizes())
                                                       : std::string("it is undefined"));
  }
}

at::Tensor MaskedAutoencoderViTImpl::training_loss(const at::Tensor& imgs, double mask_ratio,
                                                   const std::optional<at::Tensor>& noise) {
  if (options_.loss_on_visible) {
    return forward(imgs, mask_ratio, noise).loss;
  }
  const int64_t n = imgs.size(0);
  const int64_t length = options_.encoder.num_patches();
  const int64_t len_keep = visible_patch_count(length, mask_ratio);
  const at::Tensor ids_shuffle = shuffled_patch_order(noise_or_scores(noise, mask_ratio, n, imgs.device()), n, length);
  const at::Tensor ids_keep = ids_shuffle.slice(1, 0, len_keep);
  // Invariant 1: the kept patches' embeddings alone.
  const at::Tensor kept = patch_embed->forward_patches(imgs, ids_keep) + gather_tokens(pos_embed.slice(1, 1), ids_keep);
  const at::Tensor latent = encode_kept(kept);

  // Decoder tokens (invariant 2): cls, the kept patches, then the removed ones (ids_shuffle's order), each with its
  // position's embedding. A removed patch's token, mask_token + decoder_pos_embed[1 + patch], depends on its position
  // only (invariant 4).
  const at::Tensor removed = ids_shuffle.slice(1, len_keep);
  const at::Tensor own_positions = at::cat({at::zeros({n, 1}, ids_keep.options()), ids_keep + 1}, 1);
  const at::Tensor own = decoder_embed->forward(latent) + gather_tokens(decoder_pos_embed, own_positions);
  const at::Tensor mask_tokens = mask_token + decoder_pos_embed.slice(1, 1);  // [1, L, D], one per position
  // Invariant 3: the last block's output, decoder_norm and decoder_pred on the removed patches' rows only.
  const int64_t first_removed = 1 + len_keep;
  const int64_t depth = static_cast<int64_t>(decoder_blocks->size());
  const auto first_output_row = [&](int64_t block) { return block + 1 == depth ? first_removed : 0; };
  BlockImpl* const first_block = decoder_blocks[0]->as<BlockImpl>();
  const int64_t first_block_rows = first_output_row(0);
  at::Tensor x = maybe_checkpointed(
      checkpointing_blocks(),
      [first_block, removed, first_block_rows](const std::vector<at::Tensor>& in) {
        return first_block->forward_with_shared_rows(in[0], in[1], removed, first_block_rows);
      },
      {own, mask_tokens});
  for (int64_t block = 1; block < depth; ++block) {
    BlockImpl* const run = decoder_blocks[block]->as<BlockImpl>();
    const int64_t rows = first_output_row(block);
    x = maybe_checkpointed(
        checkpointing_blocks(), [run, rows](const std::vector<at::Tensor>& in) { return run->forward(in[0], rows); },
        {x});
  }
  const at::Tensor pred = decoder_pred->forward(decoder_norm->forward(x));
  // The mean over the removed patches: the reference's (per_patch * mask).sum() / mask.sum().
  return per_patch_error(gather_tokens(patchify(imgs), removed), pred).mean();
}

}  // namespace mae::models
