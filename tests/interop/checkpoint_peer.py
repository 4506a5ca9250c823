#!/usr/bin/env python3
"""The Python side of the checkpoint interop tests (tests/engine/checkpoint_test.cpp). Each command exits non-zero
with a message when a check fails.

  check-ours CKPT EXPECTED      our training checkpoint: torch.load(weights_only=True), load_state_dict into the
                                reference MAE (strict), forward on EXPECTED's inputs == EXPECTED's outputs
  write-official DIR            an official-style training checkpoint (argparse.Namespace args, AdamW state, scaler),
                                a released-style {'model': ...} file and the reference outputs, into DIR
  check-optimizer CKPT ORIGINAL the optimizer state C++ re-saved in CKPT loads into torch.optim.AdamW and equals
                                ORIGINAL's
"""
import argparse
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / 'scripts' / 'reference'))
import reference_models as ref  # noqa: E402

DIMS = dict(img_size=32, patch_size=8, in_chans=3, embed_dim=32, depth=2, num_heads=4, decoder_embed_dim=16,
            decoder_depth=1, decoder_num_heads=2)


def reference_outputs(model, expected):
    with torch.no_grad():
        loss, pred, _, _ = model(expected['imgs'], expected['mask_ratio'], expected['noise'])
    return loss, pred


def check_close(name, ours, theirs):
    error = (ours - theirs).abs().max().item()
    bound = 1e-5 * max(1.0, theirs.abs().max().item())
    if error > bound:
        sys.exit(f'{name}: max abs error {error} > {bound}')


def check_ours(ckpt_path, expected_path):
    ckpt = torch.load(ckpt_path, weights_only=True)
    expected = torch.load(expected_path, weights_only=True)
    if set(ckpt) != {'model', 'optimizer', 'epoch', 'scaler', 'args'}:
        sys.exit(f'unexpected keys {sorted(ckpt)}')
    model = ref.MaskedAutoencoderViT(norm_pix_loss=True, **expected['dims']).eval()
    model.load_state_dict(ckpt['model'], strict=True)
    loss, pred = reference_outputs(model, expected)
    check_close('loss', expected['loss'], loss)
    check_close('pred', expected['pred'], pred)
    assert ckpt['epoch'] == 4 and ckpt['args']['batch_size'] == 8 and ckpt['args']['norm_pix_loss'] is True
    assert ckpt['scaler']['scale'] == 1024.0 and ckpt['scaler']['_growth_tracker'] == 5
    assert ckpt['optimizer']['state'][1]['exp_avg'].shape == (3,)
    print('python loaded our checkpoint')


def write_official(out_dir):
    out = pathlib.Path(out_dir)
    torch.manual_seed(5)
    model = ref.MaskedAutoencoderViT(norm_pix_loss=True, **DIMS)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05)
    imgs = torch.randn(2, 3, 32, 32)
    noise = torch.rand(2, 16)
    loss, _, _, _ = model(imgs, 0.75, noise)
    loss.backward()
    optimizer.step()
    args = argparse.Namespace(batch_size=64, model='mae_vit_tiny', norm_pix_loss=True, lr=None, blr=1.5e-4,
                              output_dir='./output_dir', epochs=800)
    scaler = {'scale': 32768.0, 'growth_factor': 2.0, 'backoff_factor': 0.5, 'growth_interval': 2000,
              '_growth_tracker': 17}
    torch.save({'model': model.state_dict(), 'optimizer': optimizer.state_dict(), 'epoch': 3, 'scaler': scaler,
                'args': args}, out / 'checkpoint-3.pth')
    torch.save({'model': model.state_dict()}, out / 'released.pth')
    model.eval()
    expected = {'dims': DIMS, 'imgs': imgs, 'noise': noise, 'mask_ratio': 0.75}
    expected['loss'], expected['pred'] = reference_outputs(model, expected)
    torch.save(expected, out / 'expected.pth')


def check_optimizer(ckpt_path, original_path):
    resaved = torch.load(ckpt_path, weights_only=True)['optimizer']
    original = torch.load(original_path, weights_only=False)['optimizer']
    model = ref.MaskedAutoencoderViT(**DIMS)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05)
    optimizer.load_state_dict(resaved)
    for index, state in original['state'].items():
        for key, value in state.items():
            if not torch.equal(resaved['state'][index][key], value):
                sys.exit(f'optimizer state {index}.{key} differs')
    if resaved['param_groups'] != original['param_groups']:
        sys.exit(f"param_groups differ: {resaved['param_groups']} vs {original['param_groups']}")
    model(torch.randn(1, 3, 32, 32), 0.75, torch.rand(1, 16))[0].backward()
    optimizer.step()
    print('optimizer state round trip ok')


if __name__ == '__main__':
    command = sys.argv[1]
    {'check-ours': check_ours, 'write-official': write_official, 'check-optimizer': check_optimizer}[command](
        *sys.argv[2:])
