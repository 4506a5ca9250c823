#!/usr/bin/env python3
"""The reference's pre-training input pipeline in torchvision/PIL, timed like `mae_bench data`: the same files,
RandomResizedCrop(size, scale=(0.2, 1.0), bicubic) + RandomHorizontalFlip + ToTensor + Normalize, a DataLoader with
the same batch size and number of worker processes, median images/s over timed epochs after one warm-up epoch.

Usage: bench_data.py DATA_DIR [--num_workers N] [--batch_size B] [--input_size S] [--epochs E]
"""
import argparse
import pathlib
import statistics
import time

import torch
import torchvision.transforms as T
from PIL import Image


class Files(torch.utils.data.Dataset):
    def __init__(self, root, transform):
        self.paths = sorted(p for p in pathlib.Path(root).rglob('*') if p.suffix.lower() in ('.jpg', '.jpeg', '.png'))
        self.transform = transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        with open(self.paths[index], 'rb') as f:
            return self.transform(Image.open(f).convert('RGB')), 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('data')
    parser.add_argument('--num_workers', type=int, default=1)
    parser.add_argument('--batch_size', type=int, default=64)
    parser.add_argument('--input_size', type=int, default=224)
    parser.add_argument('--epochs', type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    transform = T.Compose([T.RandomResizedCrop(args.input_size, scale=(0.2, 1.0), interpolation=T.InterpolationMode.BICUBIC),
                           T.RandomHorizontalFlip(), T.ToTensor(),
                           T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    dataset = Files(args.data, transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True,
                                         num_workers=args.num_workers, persistent_workers=args.num_workers > 0)
    rates = []
    for epoch in range(args.epochs + 1):
        start = time.perf_counter()
        images = sum(batch.shape[0] for batch, _ in loader)
        if epoch > 0:
            rates.append(images / (time.perf_counter() - start))
    rate = statistics.median(rates)
    print(f'torchvision data pipeline: {len(dataset)} images, {args.num_workers} worker process(es), input '
          f'{args.input_size}: {rate:.0f} images/s (median of {args.epochs} epochs), '
          f'{rate / max(args.num_workers, 1):.0f} images/s per worker')


if __name__ == '__main__':
    main()
