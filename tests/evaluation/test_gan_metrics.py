"""FID and KID against closed forms on Gaussians."""

import numpy as np
import pytest

from pix2pix_tf.evaluation import gan_metrics


def test_frechet_distance_closed_form_diagonal_gaussians():
    # For diagonal covariances: |mu1 - mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert gan_metrics.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(
        expected, rel=1e-9)


def test_frechet_distance_closed_form_full_covariances():
    rng = np.random.default_rng(0)
    for _ in range(5):
        a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
        sigma1, sigma2 = a @ a.T + 0.1 * np.eye(4), b @ b.T + 0.1 * np.eye(4)
        mu1, mu2 = rng.normal(size=4), rng.normal(size=4)
        # Closed form via the eigen-decomposition of sigma1^1/2 sigma2 sigma1^1/2.
        values, vectors = np.linalg.eigh(sigma1)
        root = vectors @ np.diag(np.sqrt(values)) @ vectors.T
        cross = np.sqrt(np.linalg.eigvalsh(root @ sigma2 @ root)).sum()
        expected = np.sum((mu1 - mu2) ** 2) + np.trace(sigma1 + sigma2) - 2 * cross
        assert gan_metrics.frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(
            expected, rel=1e-8)
    # Same Gaussian: 0; commuting covariances S and 4S: tr(S) (since sqrt(S 4S) = 2S).
    assert gan_metrics.frechet_distance(mu1, sigma1, mu1, sigma1) == pytest.approx(0, abs=1e-9)
    assert gan_metrics.frechet_distance(mu1, sigma1, mu1, 4 * sigma1) == pytest.approx(
        np.trace(sigma1), rel=1e-8)


def test_fid_from_samples_approaches_the_closed_form():
    rng = np.random.default_rng(1)
    real = rng.normal(0.0, 1.0, size=(20000, 3))
    generated = rng.normal([1.0, 0.0, 0.0], [1.0, 2.0, 1.0], size=(20000, 3))
    expected = 1.0 + (np.sqrt(4.0) - 1.0) ** 2  # Mean shift 1 in x; std 1 -> 2 in y.
    assert gan_metrics.fid_from_features(real, generated) == pytest.approx(expected, abs=0.05)


def _cubic_kernel_expectation(a, s, b, t):
    """E[(x y + 1)^3] for independent x ~ N(a, s^2), y ~ N(b, t^2) in one dimension."""
    moments = lambda m, v: (m, m * m + v, m ** 3 + 3 * m * v)  # noqa: E731
    x1, x2, x3 = moments(a, s * s)
    y1, y2, y3 = moments(b, t * t)
    return x3 * y3 + 3 * x2 * y2 + 3 * x1 * y1 + 1


def test_kid_closed_form_one_dimensional_gaussians():
    a, s, b, t = 0.5, 1.0, -0.3, 0.7
    expected = (_cubic_kernel_expectation(a, s, a, s) + _cubic_kernel_expectation(b, t, b, t)
                - 2 * _cubic_kernel_expectation(a, s, b, t))
    rng = np.random.default_rng(2)
    real = rng.normal(a, s, size=(4000, 1))
    generated = rng.normal(b, t, size=(4000, 1))
    mean, std = gan_metrics.kid_from_features(real, generated, subset_size=4000)
    assert mean == pytest.approx(expected, rel=0.08)
    assert std == 0  # One subset: the whole sets.


def test_kid_is_exact_for_point_masses_and_unbiased_for_equal_distributions():
    # Degenerate Gaussians (zero covariance): MMD^2 = k(a,a) + k(b,b) - 2 k(a,b) exactly.
    a, b = np.array([[1.0, 2.0]]), np.array([[0.0, -1.0]])
    kernel = lambda x, y: (x @ y.T / 2 + 1) ** 3  # noqa: E731
    expected = (kernel(a, a) + kernel(b, b) - 2 * kernel(a, b)).item()
    mean, _ = gan_metrics.kid_from_features(np.repeat(a, 10, 0), np.repeat(b, 10, 0))
    assert mean == pytest.approx(expected, rel=1e-12)
    rng = np.random.default_rng(3)
    same = [gan_metrics.kid_from_features(rng.normal(size=(200, 8)), rng.normal(size=(200, 8)),
                                          subset_size=100, subsets=20, seed=i)[0]
            for i in range(10)]
    assert abs(np.mean(same)) < 0.02  # Unbiased: about 0 for one distribution.
    with pytest.raises(ValueError, match='at least 2'):
        gan_metrics.kid_from_features(np.zeros((1, 3)), np.zeros((5, 3)))


def test_missing_inception_weights_say_where_to_get_them(tmp_path):
    with pytest.raises(gan_metrics.MissingWeightsError,
                       match='no such file.*inception_v3_weights_tf_dim_ordering'):
        gan_metrics.load_inception(str(tmp_path / 'inception.h5'))
    (tmp_path / 'bad.h5').write_bytes(b'not weights')
    with pytest.raises(gan_metrics.MissingWeightsError, match='not InceptionV3 no-top weights'):
        gan_metrics.load_inception(str(tmp_path / 'bad.h5'))
