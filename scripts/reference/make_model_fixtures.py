#!/usr/bin/env python3
"""Writes the model parity fixtures of tests/models/ (tests/fixtures/models/): small reference models' weights,
inputs, noise, outputs and gradients, sin-cos tables, an interpolated position embedding, and the parameter names and shapes
of the official base models. Run from the repository root: python3 scripts/reference/make_model_fixtures.py
"""
import json
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import reference_models as ref  # noqa: E402

OUT = pathlib.Path('tests/fixtures/models')


def mae_case(name, seed, batch, mask_ratio, **dims):
    torch.manual_seed(seed)
    model = ref.MaskedAutoencoderViT(**dims).eval()
    grid = dims['img_size'] // dims['patch_size']
    imgs = torch.randn(batch, dims['in_chans'], dims['img_size'], dims['img_size'])
    noise = torch.rand(batch, grid * grid)
    record = {'config': dict(dims, mask_ratio=mask_ratio), 'model': model.state_dict(), 'imgs': imgs, 'noise': noise}
    with torch.no_grad():
        for norm_pix in (False, True):
            model.norm_pix_loss = norm_pix
            loss, pred, mask, latent = model(imgs, mask_ratio, noise)
            suffix = '_norm_pix' if norm_pix else ''
            record.update({'loss' + suffix: loss, 'pred' + suffix: pred})
        record.update({'mask': mask, 'latent': latent, 'unpatchified': model.unpatchify(pred)})
    # The training step's gradients (norm_pix_loss, as the recipes), for our loss-only training path.
    loss = model(imgs, mask_ratio, noise)[0]
    loss.backward()
    record['grads_norm_pix'] = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    torch.save(record, OUT / f'{name}.pth')


def vit_case(name, seed, batch, **dims):
    torch.manual_seed(seed)
    record = {'config': dict(dims)}
    imgs = torch.randn(batch, dims['in_chans'], dims['img_size'], dims['img_size'])
    record['imgs'] = imgs
    for pool in (True, False):
        model = ref.VisionTransformer(global_pool=pool, drop_path_rate=0.1, **dims).eval()
        key = 'global_pool' if pool else 'cls_token'
        record[f'model_{key}'] = model.state_dict()
        with torch.no_grad():
            record[f'logits_{key}'] = model(imgs)
    torch.save(record, OUT / f'{name}.pth')


def pos_embed_tables():
    source = torch.randn(1, 1 + 4 * 4, 16, generator=torch.Generator().manual_seed(3))
    tables = {
        'sincos_d16_g4_cls': torch.from_numpy(ref.sincos_2d(16, 4, cls_token=True)),
        'sincos_d32_g3': torch.from_numpy(ref.sincos_2d(32, 3, cls_token=False)),
        'sincos_d64_g14_cls': torch.from_numpy(ref.sincos_2d(64, 14, cls_token=True)),
        'interp_source_g4': source,
        'interp_to_g6': ref.interpolate_pos_embed(source, 1, 6),
        'interp_to_g3': ref.interpolate_pos_embed(source, 1, 3),
    }
    torch.save(tables, OUT / 'pos_embed.pth')


def names_and_shapes():
    """Parameter and buffer names in state_dict order, with shapes, for the official base models."""
    listing = {}
    dims = ref.OFFICIAL_MAE['mae_vit_base_patch16']
    listing['mae_vit_base_patch16'] = [[k, list(v.shape)] for k, v in ref.MaskedAutoencoderViT(
        embed_dim=dims['embed_dim'], depth=dims['depth'], num_heads=dims['num_heads']).state_dict().items()]
    for pool in (True, False):
        model = ref.VisionTransformer(global_pool=pool, **ref.OFFICIAL_VIT['vit_base_patch16'])
        listing[f'vit_base_patch16_{"global_pool" if pool else "cls_token"}'] = [
            [k, list(v.shape)] for k, v in model.state_dict().items()]
    (OUT / 'names_and_shapes.json').write_text(json.dumps(listing, indent=0) + '\n')


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    mae_case('mae_tiny', seed=0, batch=2, mask_ratio=0.75, img_size=32, patch_size=8, in_chans=3, embed_dim=32,
             depth=2, num_heads=4, decoder_embed_dim=16, decoder_depth=2, decoder_num_heads=2)
    mae_case('mae_gray28', seed=1, batch=3, mask_ratio=0.5, img_size=28, patch_size=7, in_chans=1, embed_dim=16,
             depth=1, num_heads=2, decoder_embed_dim=8, decoder_depth=1, decoder_num_heads=2)
    vit_case('vit_tiny', seed=2, batch=3, img_size=32, patch_size=8, in_chans=3, num_classes=5, embed_dim=32,
             depth=2, num_heads=4)
    pos_embed_tables()
    names_and_shapes()
    for path in sorted(OUT.iterdir()):
        print(f'{path}: {path.stat().st_size} bytes')


if __name__ == '__main__':
    main()
