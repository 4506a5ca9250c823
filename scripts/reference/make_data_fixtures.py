#!/usr/bin/env python3
"""Writes the data-layer fixtures (tests/fixtures/data/) with PIL and torchvision, the reference's image stack:
a small crop of scikit-image's chelsea.png (CC0) as PNG, its grey and RGBA variants, JPEGs of it in each chroma
subsampling (baseline and progressive) with PIL's decoding of them, PIL bicubic resizes, a
resized crop, the evaluation pipeline's output, and statistics of RandomResizedCrop boxes.
Run from the repository root after scripts/setup.sh (which fetches data/photos): python3 scripts/reference/make_data_fixtures.py
"""
import math
import pathlib

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image

OUT = pathlib.Path('tests/fixtures/data')


def as_tensor(image):
    return torch.from_numpy(np.array(image).copy())


def box_statistics(height, width, scale, sampler, draws=20000):
    """Mean and std of the area fraction and of log(w / h) over `draws` boxes."""
    torch.manual_seed(0)
    areas, log_ratios = [], []
    for _ in range(draws):
        i, j, h, w = sampler(height, width, scale)
        areas.append(h * w / (height * width))
        log_ratios.append(math.log(w / h))
    return torch.tensor([np.mean(areas), np.std(areas), np.mean(log_ratios), np.std(log_ratios)], dtype=torch.float64)


def torchvision_box(height, width, scale):
    image = Image.new('RGB', (width, height))
    return T.RandomResizedCrop.get_params(image, scale=scale, ratio=(3 / 4, 4 / 3))


def tf_box(height, width, scale):
    # util/crop.py RandomResizedCrop.get_params
    area = height * width
    target_area = area * torch.empty(1).uniform_(scale[0], scale[1]).item()
    log_ratio = torch.log(torch.tensor((3 / 4, 4 / 3)))
    aspect_ratio = torch.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1])).item()
    w = min(int(round(math.sqrt(target_area * aspect_ratio))), width)
    h = min(int(round(math.sqrt(target_area / aspect_ratio))), height)
    i = torch.randint(0, height - h + 1, size=(1,)).item()
    j = torch.randint(0, width - w + 1, size=(1,)).item()
    return i, j, h, w


def erased_fraction(max_count, draws=4000):
    """Mean share of a 3x56x56 image that timm's RandomErasing(1.0, mode='const') zeroes."""
    from timm.data.random_erasing import RandomErasing
    import random
    random.seed(0)
    erase = RandomErasing(1.0, mode='const', max_count=max_count, device='cpu')
    total = 0.0
    for _ in range(draws):
        image = torch.ones(3, 56, 56)
        erase(image)
        total += (image == 0).float().mean().item()
    return torch.tensor(total / draws, dtype=torch.float64)


def pil_ops(image):
    """The Pillow operations timm's RandAugment calls, at fixed arguments (timm 0.3.2 auto_augment.py)."""
    from PIL import ImageEnhance, ImageOps
    fill = dict(resample=Image.BICUBIC, fillcolor=(124, 116, 104))
    affine = lambda m: image.transform(image.size, Image.AFFINE, m, **fill)  # noqa: E731
    ops = {
        'autocontrast': ImageOps.autocontrast(image),
        'equalize': ImageOps.equalize(image),
        'invert': ImageOps.invert(image),
        'posterize_2': ImageOps.posterize(image, 2),
        'solarize_100': ImageOps.solarize(image, 100),
        'solarize_add_40': image.point([min(255, i + 40) if i < 128 else i for i in range(256)] * 3),
        'color_1.63': ImageEnhance.Color(image).enhance(1.63),
        'color_0.28': ImageEnhance.Color(image).enhance(0.28),
        'contrast_1.5': ImageEnhance.Contrast(image).enhance(1.5),
        'contrast_0.37': ImageEnhance.Contrast(image).enhance(0.37),
        'brightness_1.81': ImageEnhance.Brightness(image).enhance(1.81),
        'brightness_0.6': ImageEnhance.Brightness(image).enhance(0.6),
        'sharpness_1.9': ImageEnhance.Sharpness(image).enhance(1.9),
        'sharpness_0.1': ImageEnhance.Sharpness(image).enhance(0.1),
        'rotate_17.3': image.rotate(17.3, **fill),
        'rotate_-26.1': image.rotate(-26.1, **fill),
        'shear_x_0.21': affine((1, 0.21, 0, 0, 1, 0)),
        'shear_y_-0.17': affine((1, 0, 0, -0.17, 1, 0)),
        'translate_x_0.3': affine((1, 0, 0.3 * image.size[0], 0, 1, 0)),
        'translate_y_-0.41': affine((1, 0, 0, 0, 1, -0.41 * image.size[1])),
    }
    return {'pil_' + name: as_tensor(result) for name, result in ops.items()}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    photo = Image.open('data/photos/chelsea.png').convert('RGB')
    image = photo.crop((120, 40, 217, 115))  # 97 x 75
    image.save(OUT / 'chelsea_97x75.png')
    image.convert('L').save(OUT / 'chelsea_grey.png')
    rgba = image.copy()
    rgba.putalpha(Image.linear_gradient('L').resize(image.size))
    rgba.save(OUT / 'chelsea_rgba.png')
    jpegs = {
        '420': dict(subsampling='4:2:0'),
        '422': dict(subsampling='4:2:2'),
        '444': dict(subsampling='4:4:4'),
        '420_progressive': dict(subsampling='4:2:0', progressive=True),
    }
    jpeg_source = photo.crop((100, 30, 199, 97))  # 99 x 67: neither side a multiple of the 16-pixel iMCU
    for name, options in jpegs.items():
        jpeg_source.save(OUT / f'chelsea_{name}.jpg', quality=90, **options)
    jpeg_source.convert('L').save(OUT / 'chelsea_grey.jpg', quality=90)
    normalize = T.Compose([T.ToTensor(), T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    record = {
        'rgb': as_tensor(image),
        'grey_as_rgb': as_tensor(Image.open(OUT / 'chelsea_grey.png').convert('RGB')),
        'rgba_as_rgb': as_tensor(Image.open(OUT / 'chelsea_rgba.png').convert('RGB')),
        **{f'jpeg_{name}': as_tensor(Image.open(OUT / f'chelsea_{name}.jpg').convert('RGB'))
           for name in [*jpegs, 'grey']},
        'resize_40x31': as_tensor(image.resize((40, 31), Image.BICUBIC)),
        'resize_150x120': as_tensor(image.resize((150, 120), Image.BICUBIC)),
        'resize_97x50': as_tensor(image.resize((97, 50), Image.BICUBIC)),
        'resize_50x75': as_tensor(image.resize((50, 75), Image.BICUBIC)),
        'grey_resize_33x21': as_tensor(image.convert('L').resize((33, 21), Image.BICUBIC)),
        # F.resized_crop(img, top=10, left=7, height=50, width=60, size=32, bicubic)
        'resized_crop_10_7_50_60_to_32': as_tensor(F.resized_crop(image, 10, 7, 50, 60, [32, 32], Image.BICUBIC)),
        'eval_32': T.Compose([T.Resize(int(32 / (224 / 256)), interpolation=Image.BICUBIC), T.CenterCrop(32),
                              normalize])(image),
        'flip': as_tensor(F.hflip(image)),
        'rrc_stats_375x500_scale_0.2': box_statistics(375, 500, (0.2, 1.0), torchvision_box),
        'rrc_stats_375x500_scale_0.08': box_statistics(375, 500, (0.08, 1.0), torchvision_box),
        'rrc_stats_30x300_scale_0.08': box_statistics(30, 300, (0.08, 1.0), torchvision_box),
        'tf_rrc_stats_375x500_scale_0.08': box_statistics(375, 500, (0.08, 1.0), tf_box),
        'erased_fraction_count1': erased_fraction(1),
        'erased_fraction_count3': erased_fraction(3),
        'randperm_10_seed_5': torch.randperm(10, generator=torch.Generator().manual_seed(5)),
    }
    record.update(pil_ops(image))
    torch.save(record, OUT / 'transforms.pth')
    for path in sorted(OUT.iterdir()):
        print(f'{path}: {path.stat().st_size} bytes')


if __name__ == '__main__':
    main()
