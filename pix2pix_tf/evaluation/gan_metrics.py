"""FID and KID on InceptionV3 pool features.

- FID (Heusel et al., NeurIPS 2017): the Frechet distance between Gaussians fitted to the real
  and generated features, |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r^1/2 S_g S_r^1/2)^1/2).
- KID (Binkowski et al., ICLR 2018): the unbiased estimator of the squared MMD with the cubic
  polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets (as in the paper
  and torch-fidelity), reported x1000 by convention in tables (here: raw).

No installed library computes these for TensorFlow 2.21 (TF-GAN is unmaintained and not a
dependency), so they are implemented here with NumPy and tested against closed forms.

Features come from Keras's InceptionV3 (include_top=False, average pooling, 2048-d), whose
weights must be given as a local file (`--inception_weights`), since nothing can be downloaded
at run time. The Keras ImageNet weights are not the TF-slim 2015 graph that published FIDs use,
so values are comparable between runs of this project, not with papers.
"""

import os

import numpy as np

INCEPTION_SIZE = 299
INCEPTION_WEIGHTS_URL = ('https://storage.googleapis.com/tensorflow/keras-applications/'
                         'inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5')


class GanMetricsError(ValueError):
    """FID/KID cannot be computed as asked; the message is one line that says why."""


class MissingWeightsError(GanMetricsError):
    """The Inception weights file is missing; the message says where to get it."""


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2) (symmetric PSD sigmas).

    Tr((S1 S2)^1/2) is computed as the sum of square roots of the eigenvalues of the symmetric
    PSD matrix S1^1/2 S2 S1^1/2, which avoids the complex results of a general matrix sqrt.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(
        sigma2).astype(np.float64)
    values, vectors = np.linalg.eigh((sigma1 + sigma1.T) / 2)
    root1 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = root1 @ sigma2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2)
                 - 2 * trace_sqrt)


def fid_from_features(real: np.ndarray, generated: np.ndarray) -> float:
    """FID between two [N, d] feature sets (N >= 2 each)."""
    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    return frechet_distance(real.mean(0), np.cov(real, rowvar=False),
                            generated.mean(0), np.cov(generated, rowvar=False))


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x.y / d + 1)^3 for all rows of x [n, d] and y [m, d] -> [n, m]."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased squared MMD with the cubic polynomial kernel (diagonal terms left out)."""
    n, m = len(x), len(y)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    return float((k_xx.sum() - np.trace(k_xx)) / (n * (n - 1))
                 + (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1)) - 2 * k_xy.mean())


def kid_from_features(real: np.ndarray, generated: np.ndarray, subset_size: int = 1000,
                      subsets: int = 100, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD^2 over `subsets` random subsets of each set.

    The subset size is capped at the smaller set; with sets smaller than the cap every subset
    is the whole set and the std is 0.
    """
    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    size = min(subset_size, len(real), len(generated))
    if size < 2:
        raise GanMetricsError('KID needs at least 2 real and 2 generated images: score more '
                              'pairs (--num_examples).')
    rng = np.random.default_rng(seed)
    values = [mmd2_unbiased(real[rng.choice(len(real), size, replace=False)],
                            generated[rng.choice(len(generated), size, replace=False)])
              for _ in range(subsets if size < min(len(real), len(generated)) else 1)]
    return float(np.mean(values)), float(np.std(values))


def load_inception(weights_path: str):
    """Keras InceptionV3 (no top, average pool) with weights from a local .h5 file."""
    if not weights_path or not os.path.isfile(weights_path):
        raise MissingWeightsError(
            f'--inception_weights={weights_path or "(not set)"}: no such file. FID and KID need '
            f'InceptionV3 weights on disk; download {INCEPTION_WEIGHTS_URL} (Keras ImageNet '
            f'weights, no top) on a machine with internet access and pass its path.')
    import keras  # Only when FID/KID are asked for.

    model = keras.applications.InceptionV3(include_top=False, weights=None, pooling='avg',
                                           input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
    try:
        model.load_weights(weights_path)
    except (ValueError, OSError) as error:
        raise MissingWeightsError(f'--inception_weights={weights_path}: not InceptionV3 no-top '
                                  f'weights ({str(error).splitlines()[0]}).') from None
    return model
