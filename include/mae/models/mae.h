#pragma once
// models_mae.py: the masked autoencoder with a ViT encoder and a light ViT decoder.
#include <torch/nn/modules/container/modulelist.h>

#include <optional>
#include <utility>

#include "mae/models/architecture.h"
#include "mae/models/layers.h"

namespace mae::models {

struct MaeOutput {
  at::Tensor loss;  // scalar: mean squared error over the masked patches
  at::Tensor pred;  // [N, L, p*p*C] reconstructed patches
  at::Tensor mask;  // [N, L], 1 = removed, 0 = kept
};

struct EncoderOutput {
  at::Tensor latent;       // [N, 1 + len_keep, D], cls token first, after `norm`
  at::Tensor mask;         // [N, L]
  at::Tensor ids_restore;  // [N, L]: position of each patch in the shuffled order
};

struct Masking {
  at::Tensor kept;         // [N, len_keep, D]
  at::Tensor mask;         // [N, L]
  at::Tensor ids_restore;  // [N, L]
};

class MaskedAutoencoderViTImpl : public torch::nn::Module {
 public:
  explicit MaskedAutoencoderViTImpl(const MaeOptions& options);

  // `noise` ([N, L]) decides which patches are kept (the smallest); drawn by mask_scores() for the model's mask
  // strategy when not given (torch::rand for the default random masking, as the reference).
  MaeOutput forward(const at::Tensor& imgs, double mask_ratio = 0.75, const std::optional<at::Tensor>& noise = {});
  // forward(...).loss, with the same gradients, computing only what the loss needs: the training step's path. Not part
  // of the reference's twin: src/models/mae_training_loss.cpp holds it, with the invariants it relies on.
  at::Tensor training_loss(const at::Tensor& imgs, double mask_ratio = 0.75,
                           const std::optional<at::Tensor>& noise = {});
  EncoderOutput forward_encoder(const at::Tensor& imgs, double mask_ratio,
                                const std::optional<at::Tensor>& noise = {});
  at::Tensor forward_decoder(const at::Tensor& latent, const at::Tensor& ids_restore);
  // Mean squared error per patch, averaged over the removed patches (over all with loss_on_visible).
  at::Tensor forward_loss(const at::Tensor& imgs, const at::Tensor& pred, const at::Tensor& mask) const;

  // Keeps int(L * (1 - mask_ratio)) tokens per sample: those with the smallest noise ([N, L]).
  Masking random_masking(const at::Tensor& x, double mask_ratio, const at::Tensor& noise) const;
  // norm_pix_loss's statistics of patchified images [N, L, p*p*C]: mean and sqrt(unbiased var + 1e-6), each
  // [N, L, 1]. The target is (patches - mean) / std; the visualizer maps predictions back with them.
  static std::pair<at::Tensor, at::Tensor> patch_mean_and_std(const at::Tensor& patches);
  // [N, C, h*p, w*p] <-> [N, h*w, p*p*C], pixels inside a patch in (row, column, channel) order.
  at::Tensor patchify(const at::Tensor& imgs) const;
  at::Tensor unpatchify(const at::Tensor& x) const;

  // The reference's initialize_weights(): sin-cos tables, xavier_uniform on the patch projection (as a 2-D matrix)
  // and on every Linear (bias 0), N(0, 0.02) tokens, LayerNorm 1/0.
  void initialize_weights();

  // Throws mae::Error naming the invariant of training_loss that this model breaks (mae_training_loss.cpp lists them:
  // decoder blocks without drop path, mask-token inputs that depend on their position only). The constructor calls it.
  void check_training_loss_invariants() const;

  const MaeOptions& options() const { return options_; }

  // timm's set_grad_checkpointing (the reference has none): in training, every encoder and decoder block recomputes
  // its activations in backward instead of keeping them (grad_checkpoint.h), for the same gradients.
  void set_grad_checkpointing(bool enable = true) { grad_checkpointing_ = enable; }

  PatchEmbed patch_embed{nullptr};
  at::Tensor cls_token;
  at::Tensor pos_embed;  // fixed sin-cos, requires_grad = false
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear decoder_embed{nullptr};
  at::Tensor mask_token;
  at::Tensor decoder_pos_embed;  // fixed sin-cos, requires_grad = false
  torch::nn::ModuleList decoder_blocks{nullptr};
  torch::nn::LayerNorm decoder_norm{nullptr};
  torch::nn::Linear decoder_pred{nullptr};

 private:
  // The given masking noise, or mask_scores() drawn for the model's mask strategy.
  at::Tensor noise_or_scores(const std::optional<at::Tensor>& noise, double mask_ratio, int64_t n,
                             const at::Device& device) const;
  // The patches in ascending order of their masking scores ([N, L]): the first len_keep are kept, the rest removed.
  static at::Tensor shuffled_patch_order(const at::Tensor& scores, int64_t n, int64_t length);
  // Encoder blocks and norm over the cls token and the kept patch tokens [N, K, D] (position embedding added).
  at::Tensor encode_kept(const at::Tensor& kept);
  // (pred - target)^2 averaged per patch, target normalised per patch with norm_pix_loss; pred/patches [N, K, p*p*C].
  at::Tensor per_patch_error(const at::Tensor& patches, const at::Tensor& pred) const;

  // Whether blocks run checkpointed now: set_grad_checkpointing and training.
  bool checkpointing_blocks() const { return grad_checkpointing_ && is_training(); }

  MaeOptions options_;
  bool grad_checkpointing_ = false;
};
TORCH_MODULE(MaskedAutoencoderViT);

}  // namespace mae::models
