#!/usr/bin/env python3
"""Runs `mae_bench step` and scripts/bench_reference.py on the same job, model, batch, precision and thread count,
one after the other on this machine, and prints both figures and their ratio (docs/BENCHMARKS.md).

Usage: bench_compare.py [--bench build/bin/mae_bench] [--jobs pretrain,finetune,linprobe,inference]
                        [--model mae_vit_base_patch16] [--batch_size 16] [--input_size 224] [--amp off] [--device cpu]
                        [--warmup 2] [--iters 5] [--json OUT.json]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run_json(command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f'{" ".join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}')
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--bench', default=str(ROOT / 'build/bin/mae_bench'))
    parser.add_argument('--jobs', default='pretrain')
    parser.add_argument('--model', default='mae_vit_base_patch16')
    parser.add_argument('--batch_size', type=int, default=16)
    parser.add_argument('--input_size', type=int, default=224)
    parser.add_argument('--amp', default='off')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--json', help='also write every measurement to this file')
    args = parser.parse_args()
    if os.environ.get('MAE_SMOKE_STEPS'):  # the docs test's smoke run (docs/toolchain.md): as mae_bench caps itself
        args.iters = min(args.iters, int(os.environ['MAE_SMOKE_STEPS']))
        args.warmup = min(args.warmup, 1)
        args.batch_size = min(args.batch_size, 2)

    rows = []
    for job in args.jobs.split(','):
        common = ['--job', job, '--batch_size', str(args.batch_size), '--input_size', str(args.input_size),
                  '--amp', args.amp, '--device', args.device, '--warmup', str(args.warmup), '--iters', str(args.iters)]
        ours = run_json([args.bench, 'step', '--model', args.model, '--json'] + common)
        shape = ours['architecture']
        reference = run_json([sys.executable, str(ROOT / 'scripts/bench_reference.py'), '--json',
                              '--threads', str(ours['threads'])] + common +
                             [f'--{key}={shape[key]}' for key in ('patch_size', 'embed_dim', 'depth', 'num_heads',
                                                                  'mlp_ratio')] +
                             [f'--{key}={shape[key]}' for key in
                              (('decoder_embed_dim', 'decoder_depth', 'decoder_num_heads', 'mask_ratio')
                               if job == 'pretrain' else ('num_classes',))])
        speedup = ours['images_per_second'] / reference['images_per_second']
        memory = ours['peak_memory_bytes'] / reference['peak_memory_bytes']
        rows.append({'job': job, 'ours': ours, 'reference': reference, 'speedup': speedup, 'memory_ratio': memory})
        print(f"{job:9s} {args.model} batch {args.batch_size} {args.amp} {ours['threads']} threads: "
              f"mae-cpp {ours['images_per_second']:.2f} img/s ({ours['median_step_seconds'] * 1e3:.0f} ms), "
              f"python {reference['images_per_second']:.2f} img/s ({reference['median_step_seconds'] * 1e3:.0f} ms), "
              f"speed-up {speedup:.2f}x; {ours['memory_kind']} {ours['peak_memory_bytes'] / 2**20:.0f} vs "
              f"{reference['peak_memory_bytes'] / 2**20:.0f} MiB ({memory:.2f}x)", flush=True)
    if args.json:
        pathlib.Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=1) + '\n')


if __name__ == '__main__':
    main()
