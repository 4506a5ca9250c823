#!/usr/bin/env python3
"""The Python side of `mae_bench step`: the same job's step in PyTorch with the reference's semantics, timed the
same way (median step time of --iters after --warmup, synthetic data), for scripts/bench_compare.py.

Models are scripts/reference/reference_models.py (models_mae.py / models_vit.py on timm's current blocks, as a
Python user runs them today); the optimizers are set up as the reference's main_*.py do:
  pretrain   MAE loss, AdamW(betas 0.9, 0.95) over timm's add_weight_decay groups
  finetune   LabelSmoothingCrossEntropy(0.1), AdamW over util/lr_decay.param_groups_lrd (layer decay 0.75), drop path 0.1
  linprobe   BatchNorm1d(affine=False) + Linear head on the frozen encoder (cls token), CrossEntropy, LARS
  inference  eval-mode forward under torch.no_grad()
--flops_only prints the model FLOPs of one forward per image as torch.utils.flop_counter counts them.

Usage: bench_reference.py --job pretrain --patch_size 16 --embed_dim 768 --depth 12 --num_heads 12 \
         [--decoder_embed_dim 512 --decoder_depth 8 --decoder_num_heads 16] [--batch_size 16] [--input_size 224] \
         [--threads N] [--amp off|bf16] [--device cpu|cuda] [--warmup 2] [--iters 5] [--json] [--flops_only]
"""
import argparse
import json
import pathlib
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / 'reference'))
from reference_models import MaskedAutoencoderViT, VisionTransformer  # noqa: E402


class Lars(torch.optim.Optimizer):
    """util/lars.py: trust-ratio scaling and weight decay for >1-D parameters, momentum on all."""

    def __init__(self, params, lr=0, weight_decay=0, momentum=0.9, trust_coefficient=0.001):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                                      trust_coefficient=trust_coefficient))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group['params']:
                dp = p.grad
                if dp is None:
                    continue
                if p.ndim > 1:
                    dp = dp.add(p, alpha=group['weight_decay'])
                    param_norm, update_norm = torch.norm(p), torch.norm(dp)
                    one = torch.ones_like(param_norm)
                    q = torch.where(param_norm > 0., torch.where(update_norm > 0,
                                    group['trust_coefficient'] * param_norm / update_norm, one), one)
                    dp = dp.mul(q)
                state = self.state[p]
                if 'mu' not in state:
                    state['mu'] = torch.zeros_like(p)
                state['mu'].mul_(group['momentum']).add_(dp)
                p.add_(state['mu'], alpha=-group['lr'])


def weight_decay_groups(model, weight_decay):
    """timm 0.3.2 optim_factory.add_weight_decay."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or name.endswith('.bias') else decay).append(p)
    return [{'params': no_decay, 'weight_decay': 0.}, {'params': decay, 'weight_decay': weight_decay}]


def layer_decay_groups(model, weight_decay, layer_decay, depth):
    """util/lr_decay.param_groups_lrd."""
    num_layers = depth + 1
    groups = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        no_decay = p.ndim == 1 or name in ('pos_embed', 'cls_token')
        if name in ('cls_token', 'pos_embed') or name.startswith('patch_embed'):
            layer = 0
        elif name.startswith('blocks'):
            layer = int(name.split('.')[1]) + 1
        else:
            layer = num_layers
        key = f'layer_{layer}_{"no_decay" if no_decay else "decay"}'
        group = groups.setdefault(key, {'params': [], 'weight_decay': 0. if no_decay else weight_decay,
                                        'lr_scale': layer_decay ** (num_layers - layer)})
        group['params'].append(p)
    return list(groups.values())


def label_smoothing_cross_entropy(logits, target, smoothing):
    logprobs = F.log_softmax(logits, dim=-1)
    nll = -logprobs.gather(dim=-1, index=target.unsqueeze(1)).squeeze(1)
    return ((1. - smoothing) * nll + smoothing * -logprobs.mean(dim=-1)).mean()


def build(args):
    """(model, step function, forward function for FLOP counting)."""
    shape = dict(img_size=args.input_size, patch_size=args.patch_size, embed_dim=args.embed_dim, depth=args.depth,
                 num_heads=args.num_heads, mlp_ratio=args.mlp_ratio)
    device_type = torch.device(args.device).type
    autocast = torch.autocast(device_type, dtype=torch.bfloat16, enabled=args.amp == 'bf16')
    if args.job == 'pretrain':
        model = MaskedAutoencoderViT(**shape, decoder_embed_dim=args.decoder_embed_dim,
                                     decoder_depth=args.decoder_depth, decoder_num_heads=args.decoder_num_heads)
        model.to(args.device)
        optimizer = torch.optim.AdamW(weight_decay_groups(model, 0.05), lr=1.5e-4, betas=(0.9, 0.95))
        length = model.patch_embed.num_patches

        def forward(images):
            return model(images, args.mask_ratio, torch.rand(images.shape[0], length, device=images.device))[0]

        def step(images, labels):
            with autocast:
                loss = forward(images)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        return model, step, forward

    model = VisionTransformer(**shape, num_classes=args.num_classes, global_pool=args.job != 'linprobe',
                              drop_path_rate=0.1 if args.job == 'finetune' else 0.)
    if args.job == 'inference':
        model.to(args.device)
        model.eval()

        @torch.no_grad()
        def step(images, labels):
            with autocast:
                model(images)
        return model, step, model

    if args.job == 'finetune':
        optimizer = torch.optim.AdamW(layer_decay_groups(model, 0.05, 0.75, args.depth), lr=1e-3)

        def criterion(logits, labels):
            return label_smoothing_cross_entropy(logits, labels, 0.1)
    else:  # main_linprobe.py
        model.head = nn.Sequential(nn.BatchNorm1d(model.head.in_features, affine=False, eps=1e-6), model.head)
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith('head.')
        optimizer = Lars(model.head.parameters(), lr=0.1, weight_decay=0.)
        criterion = nn.CrossEntropyLoss()
    model.to(args.device)  # optimizers keep the parameter objects, which move in place

    def step(images, labels):
        with autocast:
            logits = model(images)
        loss = criterion(logits.float(), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return model, step, model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--job', default='pretrain', choices=['pretrain', 'finetune', 'linprobe', 'inference'])
    parser.add_argument('--input_size', type=int, default=224)
    parser.add_argument('--patch_size', type=int, default=16)
    parser.add_argument('--embed_dim', type=int, default=768)
    parser.add_argument('--depth', type=int, default=12)
    parser.add_argument('--num_heads', type=int, default=12)
    parser.add_argument('--mlp_ratio', type=float, default=4.0)
    parser.add_argument('--decoder_embed_dim', type=int, default=512)
    parser.add_argument('--decoder_depth', type=int, default=8)
    parser.add_argument('--decoder_num_heads', type=int, default=16)
    parser.add_argument('--num_classes', type=int, default=1000)
    parser.add_argument('--mask_ratio', type=float, default=0.75)
    parser.add_argument('--batch_size', type=int, default=16)
    parser.add_argument('--threads', type=int, default=0, help='0: torch default (all cores)')
    parser.add_argument('--amp', default='off', choices=['off', 'bf16'])
    parser.add_argument('--device', default='cpu', help='cpu or cuda[:N]')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', action='store_true')
    parser.add_argument('--flops_only', action='store_true')
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model, step, forward = build(args)
    images = torch.randn(args.batch_size, 3, args.input_size, args.input_size, device=args.device)
    labels = torch.randint(args.num_classes, (args.batch_size,), device=args.device)
    cuda = images.is_cuda

    if args.flops_only:
        from torch.nn.attention import SDPBackend, sdpa_kernel
        from torch.utils.flop_counter import FlopCounterMode
        counter = FlopCounterMode(display=False)
        # The counter has no formula for the CPU flash-attention kernel; the math backend runs attention as
        # matmuls, which it counts.
        with counter, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
            forward(images[:1])
        print(json.dumps({'forward_flops_per_image': counter.get_total_flops()}))
        return

    seconds = []
    for i in range(args.warmup + args.iters):
        start = time.perf_counter()
        step(images, labels)
        if cuda:
            torch.cuda.synchronize()
        if i >= args.warmup:
            seconds.append(time.perf_counter() - start)
    median = statistics.median_low(seconds)
    result = {'implementation': 'python', 'job': args.job, 'batch_size': args.batch_size,
              'input_size': args.input_size, 'amp': args.amp, 'threads': torch.get_num_threads(),
              'median_step_seconds': median, 'images_per_second': args.batch_size / median,
              'peak_memory_bytes': torch.cuda.max_memory_allocated() if cuda
              else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
              'memory_kind': 'CUDA allocator peak' if cuda else 'peak RSS', 'torch': torch.__version__}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"python {args.job} step: {median * 1e3:.1f} ms (median of {args.iters}), "
              f"{result['images_per_second']:.2f} images/s, {result['memory_kind']} "
              f"{result['peak_memory_bytes'] / 2**20:.0f} MiB, {result['threads']} threads")


if __name__ == '__main__':
    main()
