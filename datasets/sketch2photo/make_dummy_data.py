"""Writes dummy_data/ for the builder tests from real pairs of the built-in sample.

    python datasets/sketch2photo/make_dummy_data.py

- dummy_data/zappos/ut-zap50k-images-square/<Category>/<Subcategory>/<Brand>/<id>.jpg: 136x136
  JPEG photos (the size of the real square download); ids chosen so that every split is hit.
- dummy_data/edges2shoes/edges2shoes/{train,val}/<n>_AB.jpg: real 512x256 AB pairs, as-is.
- dummy_data/photos/<category>/<subcategory>/<name>.jpg: 200x150 photos, "your own photos".
"""

import glob
import os
import shutil
import sys

import cv2

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)

from pix2pix_tf.data import dataset_prep  # noqa: E402

SAMPLE = sorted(glob.glob(os.path.join(REPO, 'datasets', 'sample', 'train', '*.jpg')))
ZAPPOS = [('Shoes', 'Oxfords', 'Bostonian'), ('Boots', 'Mid-Calf', 'Frye'),
          ('Sandals', 'Flat', 'Teva'), ('Slippers', 'Slipper Flats', 'UGG')]


def photo(index: int, width: int, height: int):
    ab = cv2.imread(SAMPLE[index])
    return cv2.resize(ab[:, 256:], (width, height), interpolation=cv2.INTER_AREA)


def ids_per_split(count_per_split: dict[str, int]) -> list[str]:
    """Zappos-style ids ('<product>.<color>') until each split has its count."""
    found, candidate = {split: [] for split in count_per_split}, 7965300
    while any(len(found[s]) < n for s, n in count_per_split.items()):
        example_id = f'{candidate}.{candidate % 9973}'
        split = dataset_prep.split_of(example_id)
        if len(found[split]) < count_per_split[split]:
            found[split].append(example_id)
        candidate += 1
    return [example_id for split in count_per_split for example_id in found[split]]


def main():
    out = os.path.join(HERE, 'dummy_data')
    shutil.rmtree(out, ignore_errors=True)
    for index, example_id in enumerate(ids_per_split({'train': 4, 'validation': 2, 'test': 2})):
        category, subcategory, brand = ZAPPOS[index % len(ZAPPOS)]
        folder = os.path.join(out, 'zappos', 'ut-zap50k-images-square', category, subcategory,
                              brand)
        os.makedirs(folder, exist_ok=True)
        cv2.imwrite(os.path.join(folder, example_id + '.jpg'), photo(index, 136, 136))
    for split, indices in (('train', range(10, 13)), ('val', range(13, 15))):
        folder = os.path.join(out, 'edges2shoes', 'edges2shoes', split)
        os.makedirs(folder, exist_ok=True)
        for index in indices:
            shutil.copyfile(SAMPLE[index], os.path.join(folder, os.path.basename(SAMPLE[index])))
    names = [('handbags', 'tote'), ('handbags', 'clutch'), ('chairs', '')]
    quota, index = {'train': 3, 'validation': 1, 'test': 1}, 0
    while any(quota.values()):
        category, subcategory = names[index % 3]
        relative_id = '/'.join(part for part in (category, subcategory, f'item{index}') if part)
        split = dataset_prep.split_of(relative_id)
        if quota[split]:
            quota[split] -= 1
            folder = os.path.join(out, 'photos', category, subcategory)
            os.makedirs(folder, exist_ok=True)
            cv2.imwrite(os.path.join(folder, f'item{index}.jpg'), photo(20 + index % 20, 200, 150))
            print(f'photos/{relative_id}.jpg -> {split}')
        index += 1

if __name__ == '__main__':
    main()
