"""Rebuilds the built-in sample (`datasets/sample/{train,val}/`) from `../shared/data/realshoes`.

The shared folder holds 1,099 distinct real edges2shoes training pairs in catalog order
(grouped by brand and category), so the pairs are shuffled with a fixed seed before the first
100 are taken: 90 for `train/`, 10 for `val/`. Files are copied byte for byte. The file
`HELD_OUT.txt` lists every shared pair that is NOT in the sample, so benchmarks and
evaluations can score on real pairs the sample model never saw.

Usage (from the repository root; needs `../shared`, which a user's clone does not have):

        python datasets/sample/make_sample.py [--shared ../shared/data/realshoes]
"""

import argparse
import pathlib
import random
import shutil

SEED = 20261128
NUM_TRAIN = 90
NUM_VAL = 10
HERE = pathlib.Path(__file__).resolve().parent


def list_distinct_pairs(shared: pathlib.Path) -> list[pathlib.Path]:
    """All AB files under `shared`, one per edges2shoes number (the two sources share 819_AB)."""
    by_name = {}
    for path in sorted(shared.glob('*/train/*_AB.jpg')):
        by_name.setdefault(path.name, path)  # First source in sorted order wins.
    return [by_name[name] for name in sorted(by_name)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shared', default=str(HERE.parents[2] / 'shared' / 'data' / 'realshoes'),
                        help='the shared realshoes folder')
    args = parser.parse_args()
    shared = pathlib.Path(args.shared).resolve()
    pairs = list_distinct_pairs(shared)
    if not pairs:
        raise SystemExit(f'make_sample.py: no *_AB.jpg pairs under {shared}; pass --shared.')
    random.Random(SEED).shuffle(pairs)
    splits = {'train': pairs[:NUM_TRAIN], 'val': pairs[NUM_TRAIN:NUM_TRAIN + NUM_VAL]}
    for split, paths in splits.items():
        out = HERE / split
        if out.exists():
            shutil.rmtree(out)
        out.mkdir()
        for path in paths:
            shutil.copyfile(path, out / path.name)
    held_out = pairs[NUM_TRAIN + NUM_VAL:]
    (HERE / 'HELD_OUT.txt').write_text(''.join(
            f'{path.relative_to(shared)}\n' for path in sorted(held_out)))
    print(f'{len(pairs)} distinct pairs: {NUM_TRAIN} train, {NUM_VAL} val, '
                f'{len(held_out)} held out (HELD_OUT.txt)')


if __name__ == '__main__':
    main()
