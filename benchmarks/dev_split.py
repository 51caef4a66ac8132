"""The fixed dev split for quality work: 100 shuffled real pairs held out, the rest to train on.

    python benchmarks/dev_split.py [--shared ../shared/data/realshoes] [--out runs/dev]

Reads the 1,099 distinct edges2shoes pairs in ../shared/data/realshoes (the maintainers' larger
private sample: a user's clone does not have it), drops the one pair stored twice, shuffles the
list with a fixed seed (the files are in catalog order: brand and category) and links the first
100 into <out>/val/ and the other 999 into <out>/train/, a folder any training flags take as
--dataset. The held-out names are also written to benchmarks/dev_set.txt (committed), so the
split can be checked and never drifts. Tune on <out>/val only; nothing else is scored.
"""

import argparse
import os
import random
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO, '..', 'shared', 'data', 'realshoes')
DEV_LIST = os.path.join(REPO, 'benchmarks', 'dev_set.txt')
SEED, DEV_SIZE = 20261128, 100


def distinct_pairs(shared: str) -> list[str]:
    """Every AB file under `shared`, once per official edges2shoes name, relative to `shared`.

    Both source folders keep the official file names (`819_AB.jpg` is in both, re-encoded in
    one: SOURCES.md), so the name, not the bytes, identifies a pair.
    """
    seen, pairs = set(), []
    for folder, _, names in sorted(os.walk(shared)):
        for name in sorted(names):
            if name.endswith('.jpg') and name not in seen:
                seen.add(name)
                pairs.append(os.path.relpath(os.path.join(folder, name), shared))
    return pairs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shared', default=SHARED)
    parser.add_argument('--out', default=os.path.join(REPO, 'runs', 'dev'))
    args = parser.parse_args()
    if not os.path.isdir(args.shared):
        sys.exit(f'dev_split.py: error: {args.shared} not found; this split needs the '
                 f'maintainers\' realshoes folder (pass --shared).')
    pairs = distinct_pairs(args.shared)
    random.Random(SEED).shuffle(pairs)
    dev, train = sorted(pairs[:DEV_SIZE]), pairs[DEV_SIZE:]
    if os.path.isfile(DEV_LIST):
        with open(DEV_LIST) as file:
            listed = [line.strip() for line in file if line.strip() and not line.startswith('#')]
        if listed != dev:
            sys.exit(f'dev_split.py: error: the shuffled split no longer matches {DEV_LIST}; '
                     f'the shared folder changed. Keep the committed list.')
    else:
        with open(DEV_LIST, 'w') as file:
            file.write(f'# The 100 held-out dev pairs (benchmarks/dev_split.py, seed {SEED}), '
                       f'relative to ../shared/data/realshoes.\n' + '\n'.join(dev) + '\n')
    for split, names in (('val', dev), ('train', train)):
        folder = os.path.join(args.out, split)
        os.makedirs(folder, exist_ok=True)
        for name in names:
            link = os.path.join(folder, name.replace(os.sep, '__'))
            if not os.path.lexists(link):
                os.symlink(os.path.abspath(os.path.join(args.shared, name)), link)
    print(f'{args.out}: {len(train)} train pairs, {len(dev)} dev pairs (val/).')


if __name__ == '__main__':
    main()
