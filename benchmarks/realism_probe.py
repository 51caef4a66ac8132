"""What the two-sample test reads: the real dev photos against copies of themselves that look the
same (re-encoded, chroma blurred), and trained runs' dev outputs with and without a chroma blur,
on raw pixels and after the JPEG round trip that `realism_metrics` applies to both sets.

    python benchmarks/realism_probe.py runs/quality/cpu runs/quality/fm_soft_l1100 [...]

Each run: its EMA generator in paper mode on the 100 dev pairs (runs/dev/val, from
benchmarks/dev_split.py; it needs ../shared). Prints, per set, the two-sample accuracy raw and
round-tripped, and the colour ratio, and per run the largest per-feature differences (Cohen's d
of the 20 patch features, generated minus real) and the accuracy of the test on its colour
features, its colour-gradient pair and its texture features alone, on raw pixels and after the
round trip. Last, the period-2 peaks of each set's luminance spectrum (`checkerboard`: the
pattern a 4x4 stride-2 transposed convolution leaves). A statistic that moves a lot for a
change nobody can see is measuring the file, not the shoe (docs/quality.md, "The two-sample
test and JPEG").
"""

import argparse
import glob
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
DEV = os.path.join(REPO, 'runs', 'dev', 'val')
FEATURES = ('L', 'a*', 'b*', 'L sd', 'a* sd', 'b* sd', 'chroma', 'chroma sd', 'gradient',
            'gradient sd', 'grad>.02', 'grad>.05', 'grad>.1', 'grad>.2', 'Laplacian', 'a* grad',
            'b* grad', 'band 1', 'band 2', 'band 3')
GROUPS = {'colour': [0, 1, 2, 3, 4, 5, 6, 7, 15, 16], 'colour gradient': [15, 16],
          'texture': [8, 9, 10, 11, 12, 13, 14, 17, 18, 19]}


def chroma_blurred(photos: np.ndarray, sigma: float) -> np.ndarray:
    """uint8 RGB photos with Cr and Cb blurred by a Gaussian of `sigma` pixels, luma kept."""
    import cv2
    out = []
    for photo in photos:
        ycc = cv2.cvtColor(photo, cv2.COLOR_RGB2YCrCb).astype(np.float32)
        ycc[..., 1:] = cv2.GaussianBlur(ycc[..., 1:], (0, 0), sigma)
        out.append(cv2.cvtColor(np.clip(ycc, 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2RGB))
    return np.stack(out)


def dev_outputs(workdir: str) -> tuple[np.ndarray, np.ndarray]:
    """(real, generated) uint8 [100, H, W, 3] of a workdir's EMA generator, paper mode."""
    from pix2pix_tf.data import input_pipeline
    from pix2pix_tf.data import record_readers
    from pix2pix_tf.evaluation import pixel_metrics
    from pix2pix_tf.training import checkpoints

    files = sorted(glob.glob(os.path.join(DEV, '*.jpg')))
    config, generator, _ = checkpoints.restore_generator(workdir)
    dataset = input_pipeline.pairs_dataset(*record_readers.ab_file_records(files),
                                           config.image_size, 10)
    result = pixel_metrics.evaluate(pixel_metrics.make_eval_step(generator, 'paper'), dataset,
                                    keep_examples=len(files), with_realism=False)
    return np.stack(result.examples['photo']), np.stack(result.examples['generated'])


PERIOD_2 = {'(N/2, N/2)': (2, 2), '(N/2, 0)': (2, 0), '(0, N/2)': (0, 2)}  # Divisors of N.


def checkerboard(photos: np.ndarray) -> dict:
    """Period-2 peaks of uint8 RGB photos [N, H, W, 3]: the mean power spectrum of their
    luminance (each image's mean taken out) at the frequencies of PERIOD_2, a checkerboard and
    stripes one pixel wide, each over the median of the 8 bins 2 away (about 1 where the
    spectrum is smooth there; real photos: 0.8-1.6)."""
    from pix2pix_tf.evaluation import realism
    gray = realism._gray(photos)
    power = (np.abs(np.fft.fft2(gray - gray.mean((1, 2), keepdims=True))) ** 2).mean(0)
    height, width = power.shape
    peaks = {}
    for name, (down, across) in PERIOD_2.items():
        row, col = (height // down if down else 0), (width // across if across else 0)
        ring = [power[(row + a) % height, (col + b) % width]
                for a in (-2, 0, 2) for b in (-2, 0, 2) if a or b]
        peaks[name] = float(power[row, col] / np.median(ring))
    return peaks


def feature_report(real: np.ndarray, generated: np.ndarray) -> str:
    """Cohen's d of the largest five features and the test on feature groups alone."""
    from pix2pix_tf.evaluation import realism
    rng = np.random.default_rng(0)
    size = max(8, min(real.shape[1:3]) // 8)
    spots = realism._patch_positions(real, generated, size, rng)
    features = [realism.patch_features(np.stack([photo[row:row + size, col:col + size]
                                                 for photo, where in zip(photos, spots)
                                                 for row, col in where]))
                for photos in (real, generated)]
    pooled = np.sqrt((features[0].var(0) + features[1].var(0)) / 2) + 1e-12
    effect = (features[1].mean(0) - features[0].mean(0)) / pooled
    largest = ', '.join(f'{FEATURES[i]} {effect[i]:+.2f}' for i in np.argsort(-abs(effect))[:5])
    x, labels = np.concatenate(features), np.repeat([0, 1], len(features[0]))
    fold = np.tile(np.repeat(rng.permutation(len(real)) % realism.FOLDS,
                             realism.PATCHES_PER_IMAGE), 2)
    groups = []
    for name, columns in GROUPS.items():
        correct = 0
        for held_out in range(realism.FOLDS):
            test = fold == held_out
            model = realism.fit_logistic(x[~test][:, columns], labels[~test])
            correct += int(np.sum(realism.predict_logistic(model, x[test][:, columns])
                                  == labels[test]))
        groups.append(f'{name} {correct / len(labels):.3f}')
    return f'    largest d: {largest}\n    features alone: {", ".join(groups)}'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('workdirs', nargs='*', help='trained workdirs (runs/quality/<name>)')
    parser.add_argument('--sigma', type=float, default=0.7, help='chroma blur, pixels')
    args = parser.parse_args()
    if not os.path.isdir(DEV):
        sys.exit('realism_probe.py: error: runs/dev not found; run python benchmarks/dev_split.py '
                 'first (it needs ../shared/data/realshoes).')
    from pix2pix_tf.evaluation import realism

    def row(name, real, other):
        raw = realism.realism_metrics(real, other, jpeg_quality=None)
        stored = realism.realism_metrics(real, other)
        print(f'| {name} | {raw["two_sample_accuracy"]:.3f} | '
              f'{stored["two_sample_accuracy"]:.3f} | {raw["colour_ratio"]:.3f} | '
              f'{stored["colour_ratio"]:.3f} |', flush=True)

    print('| set against the real dev photos | 2-sample raw | 2-sample round trip | '
          'colour ratio raw | colour ratio round trip |\n|---|---|---|---|---|')
    real, reports, peaks = None, [], {}
    for workdir in args.workdirs:
        real, generated = dev_outputs(workdir)
        name = os.path.basename(os.path.normpath(workdir))
        peaks[name] = checkerboard(generated)
        row(name, real, generated)
        row(f'{name}, chroma blurred {args.sigma:g} px', real,
            chroma_blurred(generated, args.sigma))
        stored = [realism.jpeg_round_trip(photos) for photos in (real, generated)]
        reports.append(f'{name}, raw pixels:\n{feature_report(real, generated)}\n'
                       f'{name}, after the round trip:\n{feature_report(*stored)}')
    if real is None:
        sys.exit('realism_probe.py: error: name at least one trained workdir.')
    row('the real photos, JPEG quality 75', real, realism.jpeg_round_trip(real, 75))
    row(f'the real photos, chroma blurred {args.sigma:g} px', real,
        chroma_blurred(real, args.sigma))
    print('\nPatch features, generated against real (Cohen\'s d, generated minus real):')
    print('\n'.join(reports))
    print('\nPeriod-2 peaks of the luminance spectrum (power over its neighbours\'; ~1 = none):\n'
          f'| set | {" | ".join(PERIOD_2)} |\n|---|---|---|---|')
    for name, values in {'the real photos': checkerboard(real), **peaks}.items():
        print(f'| {name} | {" | ".join(f"{value:.1f}" for value in values.values())} |')


if __name__ == '__main__':
    main()
