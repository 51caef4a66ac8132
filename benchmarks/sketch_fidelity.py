"""Sketch fidelity and speed: pix2pix_tf.data.edges vs the real HED edge maps of edges2shoes.

    python benchmarks/sketch_fidelity.py [--pairs ../shared/data/realshoes]

Reads real AB pairs (HED edge map LEFT, photo right), runs `photo_to_sketch` on each photo and
scores it against the edge map: precision = share of our stroke pixels within 2 px of a
reference stroke, recall = share of reference stroke pixels within 2 px of ours, F1 their
harmonic mean; counts pooled over all pairs. A plain Canny (gray, thresholds 100/200) is
scored alongside. Speed is photos/second on one core (OpenCV limited to one thread) at 256x256,
sketching only (JPEG decoding excluded).

Uses ../shared/data/realshoes (1,099 pairs) when it exists, else the 100 pairs shipped in
datasets/sample, and says which.
"""

import argparse
import glob
import os
import sys
import time

import cv2
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from pix2pix_tf.data import edges  # noqa: E402

SHARED = os.path.join(REPO, '..', 'shared', 'data', 'realshoes')
SAMPLE = os.path.join(REPO, 'datasets', 'sample')


def load_pairs(folder: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(photo RGB [256,256,3], reference uint8 [256,256]) for each distinct *_AB.jpg."""
    pairs, seen = [], set()
    for path in sorted(glob.glob(os.path.join(folder, '**', '*.jpg'), recursive=True)):
        name = os.path.basename(path)
        if name in seen:
            continue
        seen.add(name)
        ab = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
        half = ab.shape[1] // 2
        pairs.append((np.ascontiguousarray(ab[:, half:]), ab[:, :half, 0].copy()))
    return pairs


def score(sketches, references) -> tuple[float, float, float]:
    counts = np.sum([edges.edge_match_counts(s, r) for s, r in zip(sketches, references)],
                    axis=0)
    precision, recall = counts[0] / max(counts[1], 1), counts[2] / max(counts[3], 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)


def canny_baseline(photo: np.ndarray) -> np.ndarray:
    canny = cv2.Canny(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY), 100, 200)
    return np.where(canny > 0, 0, 255).astype(np.uint8)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--pairs', default=None, help='folder of AB pairs (default: ../shared '
                        'realshoes when present, else datasets/sample)')
    args = parser.parse_args()
    folder = args.pairs or (SHARED if os.path.isdir(SHARED) else SAMPLE)
    if not args.pairs and folder == SAMPLE:
        print(f'{SHARED} not found: scoring the {SAMPLE} pairs instead.')
    pairs = load_pairs(folder)
    if not pairs:
        raise SystemExit(f'no *.jpg AB pairs under {folder}')
    photos = [photo for photo, _ in pairs]
    references = [reference for _, reference in pairs]
    cv2.setNumThreads(1)
    print(f'{len(pairs)} pairs from {os.path.normpath(folder)}; tolerance 2 px; '
          f'OpenCV {cv2.__version__}, 1 thread')
    print('| method | precision | recall | F1 | photos/s per core |\n|---|---|---|---|---|')
    for name, function in (('pix2pix_tf.data.edges.photo_to_sketch', edges.photo_to_sketch),
                           ('plain Canny 100/200', canny_baseline)):
        function(photos[0])  # Warm-up.
        started = time.perf_counter()
        sketches = [function(photo) for photo in photos]
        rate = len(photos) / (time.perf_counter() - started)
        precision, recall, f1 = score(sketches, references)
        print(f'| {name} | {precision:.3f} | {recall:.3f} | {f1:.3f} | {rate:.0f} |', flush=True)


if __name__ == '__main__':
    main()
