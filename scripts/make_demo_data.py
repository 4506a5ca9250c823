#!/usr/bin/env python3
"""Builds the small real image sets of mae-cpp from Debian packages (fetched with `apt-get download`, unpacked
without installing; nothing here is committed):

  data/demo/{train,val}/<digit>/*.png   5,000 handwritten digits (20x20 grey) cut from OpenCV's samples/data/digits.png
                                        (package opencv-doc; OpenCV licence, see its copyright file): 450 + 50 per class
  data/photos/*.png|jpg                 5 photos from scikit-image's sample data (package python3-skimage):
                                        astronaut, hubble_deep_field (NASA, public domain), rocket (SpaceX, public
                                        domain), chelsea, coffee (CC0)
  data/bench/*.jpg                      256 JPEGs of about 500x375 cut from those photos, for the data benchmark

Usage: make_demo_data.py [DATA_DIR]   (idempotent: a finished DATA_DIR is left alone)
"""
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile

from PIL import Image

DIGITS = 'usr/share/doc/opencv-doc/examples/data/digits.png'
SKIMAGE = 'usr/lib/python3/dist-packages/skimage/data/'
PHOTOS = ['astronaut.png', 'hubble_deep_field.jpg', 'rocket.jpg', 'chelsea.png', 'coffee.png']
VERSION = '1'  # bump to rebuild existing data folders


def unpack(package, members, work):
    download = ['apt-get', 'download', '-qq', package]
    if subprocess.run(download, cwd=work, stderr=subprocess.DEVNULL).returncode != 0:
        # A fresh machine may have no package lists yet.
        subprocess.run(['apt-get', 'update', '-qq'], check=True)
        subprocess.run(download, cwd=work, check=True)
    deb = next(pathlib.Path(work).glob(f'{package}_*.deb'))
    tar = subprocess.Popen(['dpkg-deb', '--fsys-tarfile', str(deb)], stdout=subprocess.PIPE)
    subprocess.run(['tar', '-x', '-C', work, '--wildcards'] + ['./' + m for m in members], stdin=tar.stdout,
                   check=True)
    tar.wait()


def make_digits(sheet_path, out):
    # 50 rows x 100 columns of 20x20 cells; every 5 rows hold one digit (500 samples per class).
    sheet = Image.open(sheet_path).convert('L')
    for index in range(5000):
        row, column = divmod(index, 100)
        digit, within = divmod(index, 500)
        split = 'train' if within < 450 else 'val'
        folder = out / 'demo' / split / str(digit)
        folder.mkdir(parents=True, exist_ok=True)
        sheet.crop((column * 20, row * 20, column * 20 + 20, row * 20 + 20)).save(folder / f'{digit}_{within:03d}.png')


def make_bench(photos, out):
    rng = random.Random(0)
    folder = out / 'bench'
    folder.mkdir(parents=True, exist_ok=True)
    images = [Image.open(p).convert('RGB') for p in photos]
    for index in range(256):
        image = images[index % len(images)]
        scale = rng.uniform(0.6, 1.0)
        w, h = int(image.width * scale), int(image.height * scale)
        left, top = rng.randint(0, image.width - w), rng.randint(0, image.height - h)
        crop = image.crop((left, top, left + w, top + h)).resize((500, 375), Image.BICUBIC)
        crop.save(folder / f'bench_{index:03d}.jpg', quality=90)


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else 'data')
    stamp = out / '.complete'
    if stamp.exists() and stamp.read_text() == VERSION:
        return
    with tempfile.TemporaryDirectory() as work:
        unpack('opencv-doc', [DIGITS], work)
        unpack('python3-skimage', [SKIMAGE + name for name in PHOTOS], work)
        for folder in ('demo', 'photos', 'bench'):
            shutil.rmtree(out / folder, ignore_errors=True)
        make_digits(pathlib.Path(work) / DIGITS, out)
        (out / 'photos').mkdir(parents=True, exist_ok=True)
        photos = [shutil.copy(pathlib.Path(work) / SKIMAGE / name, out / 'photos' / name) for name in PHOTOS]
        make_bench(photos, out)
    stamp.write_text(VERSION)
    print(f'make_demo_data: wrote {out}/demo (5,000 digits), {out}/photos (5), {out}/bench (256 JPEGs)')


if __name__ == '__main__':
    main()
