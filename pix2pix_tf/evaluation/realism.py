"""Realism statistics that need no downloaded weights: generated photos against real ones.

Pixel metrics reward the average of the plausible photos; these ask whether the generated set
looks like the real set (docs/evaluation.md, "Realism"). All take uint8 RGB [N, H, W, 3] sets:

- `colour_ratio`: mean colourfulness (Hasler and Suesstrunk, 2003: the spread and the mean of
  the opponent channels rg = R - G and yb = (R + G) / 2 - B) of the generated photos over that of
  the real ones. 1 = as colourful; a washed-out, brown-for-every-shoe set is below 1.
- `colour_distance`: the Jensen-Shannon divergence (bits, 0 to 1) between the two sets'
  histograms of CIELAB chroma (a*, b*; 16 x 16 bins) over their non-white pixels: where the
  colours are, not only how many. 0 = the same colours.
- `texture_ratio`: the share of each gray image's spectral power above a quarter of the
  sampling rate (fine detail, edges, grain), generated over real. Blur makes it fall below 1,
  noise and checkerboard artefacts rise above 1.
- `two_sample_accuracy`: a seeded, cross-validated logistic regression on colour and texture
  features of patches (the same positions in a generated photo and in its real photo, on the
  shoe) telling generated from real. 0.5 = indistinguishable by these features; 1 = always told.
  Folds keep each pair's two photos together, so no pair is seen in training and testing.

`realism_metrics` first stores both sets the same way, as JPEG at quality 95 with 4:2:0
chroma (`jpeg_round_trip`; the way the edges2shoes photos were stored), so that the statistics
compare photos rather than file formats: on raw pixels the two-sample test told the real dev
photos from their own quality-75 copies 68% of the time, mostly by the pixel-scale chroma
detail that JPEG's chroma subsampling removes from real photos and not from generated ones
(docs/evaluation.md, "Realism").
"""

import cv2
import numpy as np

REALISM_METRICS = ('colour_ratio', 'colour_distance', 'texture_ratio', 'two_sample_accuracy')
WHITE = 235  # A pixel whose channels are all at least this is background (the white page).
HISTOGRAM_BINS = 16
HIGH_FREQUENCY = 0.25  # Cycles per pixel; 0.5 is the Nyquist frequency.
PATCHES_PER_IMAGE = 16
FOLDS = 5
L2_PENALTY = 1e-2
JPEG_QUALITY = 95


def jpeg_round_trip(photos: np.ndarray, quality: int = JPEG_QUALITY) -> np.ndarray:
    """uint8 RGB [N, H, W, 3] encoded as baseline JPEG (4:2:0 chroma) and decoded again."""
    options = [cv2.IMWRITE_JPEG_QUALITY, quality,
               cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420]
    decoded = []
    for photo in photos:
        ok, encoded = cv2.imencode('.jpg', cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), options)
        if not ok:
            raise ValueError(f'could not JPEG-encode a {photo.shape} {photo.dtype} photo')
        decoded.append(cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
    return np.stack(decoded).reshape(photos.shape)


def colourfulness(photos: np.ndarray) -> np.ndarray:
    """Hasler and Suesstrunk's colourfulness per image, float [N] (0 for gray images)."""
    rgb = photos.astype(np.float64)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    spread = np.sqrt(rg.std(axis=(1, 2)) ** 2 + yb.std(axis=(1, 2)) ** 2)
    mean = np.sqrt(rg.mean(axis=(1, 2)) ** 2 + yb.mean(axis=(1, 2)) ** 2)
    return spread + 0.3 * mean


def _lab(photos: np.ndarray) -> np.ndarray:
    """float32 CIELAB [N, H, W, 3]: L in [0, 100], a* and b* in about [-128, 127]."""
    lab = np.stack([cv2.cvtColor(photo, cv2.COLOR_RGB2LAB) for photo in photos])
    return lab.astype(np.float32) * [100 / 255, 1, 1] - [0, 128, 128]


def chroma_histogram(photos: np.ndarray) -> np.ndarray:
    """The set's normalised a*, b* histogram [BINS, BINS] over its non-white pixels."""
    lab = _lab(photos)
    foreground = (photos < WHITE).any(axis=-1)
    if not foreground.any():
        foreground = np.ones_like(foreground)
    edges = np.linspace(-128, 128, HISTOGRAM_BINS + 1)
    counts, _, _ = np.histogram2d(lab[..., 1][foreground], lab[..., 2][foreground],
                                  bins=[edges, edges])
    return counts / counts.sum()


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits (0 = equal distributions, 1 = disjoint)."""
    p, q = p.ravel(), q.ravel()
    middle = 0.5 * (p + q)

    def kl(a):
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / middle[mask])))

    return 0.5 * kl(p) + 0.5 * kl(q)


def _gray(photos: np.ndarray) -> np.ndarray:
    return photos.astype(np.float32) @ np.float32([0.299, 0.587, 0.114]) / 255


def _radius(height: int, width: int) -> np.ndarray:
    """Radial frequency (cycles per pixel) of each 2-D FFT bin."""
    rows, cols = np.meshgrid(np.fft.fftfreq(height), np.fft.fftfreq(width), indexing='ij')
    return np.sqrt(rows ** 2 + cols ** 2)


def high_frequency_share(photos: np.ndarray) -> np.ndarray:
    """Per image, float [N]: spectral power above HIGH_FREQUENCY over all power but the mean."""
    gray = _gray(photos)
    power = np.abs(np.fft.fft2(gray - gray.mean(axis=(1, 2), keepdims=True))) ** 2
    high = _radius(*gray.shape[1:]) > HIGH_FREQUENCY
    return power[:, high].sum(axis=1) / np.maximum(power.sum(axis=(1, 2)), 1e-12)


def _patch_positions(real: np.ndarray, generated: np.ndarray, size: int,
                     rng: np.random.Generator) -> list[list[tuple[int, int]]]:
    """PATCHES_PER_IMAGE (row, col) per pair, on the shoe: drawn among the grid positions
    (stride size / 2) where either photo of the pair has at least 10% non-white pixels."""
    height, width = real.shape[1:3]
    grid = [(row, col) for row in range(0, height - size + 1, max(1, size // 2))
            for col in range(0, width - size + 1, max(1, size // 2))]
    positions = []
    for real_photo, generated_photo in zip(real, generated):
        shoe = (real_photo < WHITE).any(axis=-1) | (generated_photo < WHITE).any(axis=-1)
        candidates = [spot for spot in grid
                      if shoe[spot[0]:spot[0] + size, spot[1]:spot[1] + size].mean() >= 0.1]
        candidates = candidates or grid
        picks = rng.choice(len(candidates), PATCHES_PER_IMAGE,
                           replace=len(candidates) < PATCHES_PER_IMAGE)
        positions.append([candidates[index] for index in picks])
    return positions


def patch_features(patches: np.ndarray) -> np.ndarray:
    """Colour and texture features of uint8 RGB patches [P, s, s, 3] -> float64 [P, 20]."""
    lab = _lab(patches)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    gray = _gray(patches)
    gradient_rows, gradient_cols = np.gradient(gray, axis=(1, 2))
    gradient = np.hypot(gradient_rows, gradient_cols)
    laplacian = np.abs(gray[:, 1:-1, 1:-1] * 4 - gray[:, :-2, 1:-1] - gray[:, 2:, 1:-1]
                       - gray[:, 1:-1, :-2] - gray[:, 1:-1, 2:])
    colour_gradient = [np.abs(np.gradient(lab[..., channel], axis=(1, 2))).sum(axis=0)
                       for channel in (1, 2)]
    power = np.abs(np.fft.fft2(gray - gray.mean(axis=(1, 2), keepdims=True))) ** 2
    radius = _radius(*gray.shape[1:])
    total = np.maximum(power.sum(axis=(1, 2)), 1e-12)
    bands = [power[:, (radius > low) & (radius <= high)].sum(axis=1) / total
             for low, high in ((0.0625, 0.125), (0.125, 0.25), (0.25, 1.0))]
    columns = [lab.mean(axis=(1, 2)), lab.std(axis=(1, 2)),
               np.stack([chroma.mean(axis=(1, 2)), chroma.std(axis=(1, 2))], axis=1),
               np.stack([gradient.mean(axis=(1, 2)), gradient.std(axis=(1, 2))]
                        + [(gradient > threshold).mean(axis=(1, 2))
                           for threshold in (0.02, 0.05, 0.1, 0.2)], axis=1),
               laplacian.mean(axis=(1, 2))[:, None],
               np.stack([part.mean(axis=(1, 2)) for part in colour_gradient], axis=1),
               np.stack(bands, axis=1)]
    return np.concatenate(columns, axis=1).astype(np.float64)


def fit_logistic(features: np.ndarray, labels: np.ndarray, iterations: int = 30):
    """L2-penalised logistic regression by Newton's method; -> (weights, bias, mean, scale)."""
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-8
    x = np.concatenate([(features - mean) / scale, np.ones([len(features), 1])], axis=1)
    weights = np.zeros(x.shape[1])
    penalty = L2_PENALTY * len(x) * np.eye(x.shape[1])
    penalty[-1, -1] = 0  # No penalty on the bias.
    for _ in range(iterations):
        probability = 1 / (1 + np.exp(-np.clip(x @ weights, -30, 30)))
        gradient = x.T @ (probability - labels) + penalty @ weights
        hessian = (x.T * (probability * (1 - probability))) @ x + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(weights)), gradient)
        weights -= step
        if np.abs(step).max() < 1e-8:
            break
    return weights[:-1], weights[-1], mean, scale


def predict_logistic(model, features: np.ndarray) -> np.ndarray:
    weights, bias, mean, scale = model
    return ((features - mean) / scale) @ weights + bias > 0


def two_sample_accuracy(real: np.ndarray, generated: np.ndarray, seed: int = 0,
                        folds: int = FOLDS) -> float:
    """Cross-validated accuracy of telling generated patches from real ones (module docstring).

    Patch side: an eighth of the image side (32 at 256x256, at least 8). Pair i's patches (real
    and generated, same positions) all go to fold i mod `folds` after a seeded shuffle.
    """
    count = len(real)
    folds = min(folds, count)
    if folds < 2:
        raise ValueError('the two-sample test needs at least 2 pairs')
    rng = np.random.default_rng(seed)
    size = max(8, min(real.shape[1:3]) // 8)
    positions = _patch_positions(real, generated, size, rng)
    fold_of_pair = rng.permutation(count) % folds
    features, labels, fold = [], [], []
    for label, photos in ((0, real), (1, generated)):
        patches = np.stack([photo[row:row + size, col:col + size]
                            for photo, spots in zip(photos, positions) for row, col in spots])
        features.append(patch_features(patches))
        labels.append(np.full(len(patches), label))
        fold.append(np.repeat(fold_of_pair, PATCHES_PER_IMAGE))
    features, labels, fold = map(np.concatenate, (features, labels, fold))
    correct = 0
    for held_out in range(folds):
        test = fold == held_out
        model = fit_logistic(features[~test], labels[~test])
        correct += int(np.sum(predict_logistic(model, features[test]) == labels[test]))
    return correct / len(labels)


def realism_metrics(real: np.ndarray, generated: np.ndarray, seed: int = 0,
                    jpeg_quality: int | None = JPEG_QUALITY) -> dict:
    """REALISM_METRICS of a generated set against the real set (uint8 [N, H, W, 3] each; pairs
    in the same order), both JPEG round-tripped at `jpeg_quality` first (None: raw pixels).
    `two_sample_accuracy` is left out under 2 pairs."""
    if real.shape != generated.shape or real.ndim != 4 or real.shape[-1] != 3:
        raise ValueError(f'real and generated must be uint8 [N, H, W, 3] of one shape, not '
                         f'{real.shape} and {generated.shape}')
    if jpeg_quality is not None:
        real, generated = jpeg_round_trip(real, jpeg_quality), jpeg_round_trip(generated,
                                                                                jpeg_quality)
    real_colour = float(colourfulness(real).mean())
    metrics = {
        'colour_ratio': float(colourfulness(generated).mean()) / max(real_colour, 1e-6),
        'colour_distance': js_divergence(chroma_histogram(real), chroma_histogram(generated)),
        'texture_ratio': float(high_frequency_share(generated).mean()
                               / max(float(high_frequency_share(real).mean()), 1e-12)),
    }
    if len(real) >= 2:
        metrics['two_sample_accuracy'] = two_sample_accuracy(real, generated, seed)
    return metrics
