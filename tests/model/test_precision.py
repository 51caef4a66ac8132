import keras
import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf import config as config_lib
from pix2pix_tf.model import precision


@pytest.mark.parametrize('flags, expected', [
    ('fpu vme avx512f avx512_bf16 amx_tile', True),
    ('fpu vme amx_bf16', True),
    ('fpu vme avx2 avx512f', False),
])
def test_native_bfloat16_detection(tmp_path, flags, expected):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text(f'processor\t: 0\nflags\t\t: {flags}\n')
    assert precision.cpu_has_native_bfloat16(str(cpuinfo)) is expected
    assert precision.cpu_has_native_bfloat16(str(tmp_path / 'missing')) is False


def test_auto_picks_float16_exactly_when_a_gpu_is_visible():
    if tf.config.list_physical_devices('GPU'):
        assert precision.resolve('auto') == 'mixed_float16'
    else:  # Never float16 on a CPU: bfloat16 with native instructions, else float32.
        expected = 'mixed_bfloat16' if precision.cpu_has_native_bfloat16() else 'float32'
        assert precision.resolve('auto') == expected
    assert precision.resolve('float32') == 'float32'


def test_float16_wraps_adam_in_a_loss_scale_optimizer():
    config = config_lib.Config(learning_rate=1e-3, beta_1=0.4, beta_2=0.9)
    wrapped = precision.make_optimizer(1e-3, config, 'mixed_float16')
    assert isinstance(wrapped, keras.mixed_precision.LossScaleOptimizer)
    inner = wrapped.inner_optimizer
    assert (inner.beta_1, inner.beta_2, inner.epsilon) == (0.4, 0.9, 1e-8)
    plain = precision.make_optimizer(1e-3, config, 'mixed_bfloat16')
    assert isinstance(plain, keras.optimizers.Adam)
    assert not precision.uses_loss_scaling(plain)


def test_fused_adam_makes_keras_adams_updates(make_config):
    """The fused kernel computes the reference's Adam rule, as Keras's Adam does."""
    config = make_config(beta_1=0.5, beta_2=0.999)
    results = []
    for fused in (True, False):
        weights = [keras.Variable(np.random.RandomState(i).randn(*shape).astype('float32'))
                   for i, shape in enumerate([(4, 4, 8, 16), (16,)])]
        optimizer = precision.make_optimizer(2e-3, config, 'float32', fused=fused)
        optimizer.build(weights)
        for step in range(3):
            gradients = [tf.constant(np.random.RandomState(10 + step).randn(*w.shape),
                                     tf.float32) for w in weights]
            optimizer.apply(gradients, weights)
        assert isinstance(optimizer, precision.FusedAdam) == fused
        results.append([w.numpy() for w in weights] + [v.numpy() for v in optimizer.variables
                                                       if v.shape != ()])
    for fused_value, keras_value in zip(*results):
        np.testing.assert_allclose(fused_value, keras_value, rtol=1e-5, atol=1e-7)
    assert not np.allclose(results[0][0], np.random.RandomState(0).randn(4, 4, 8, 16))


def test_policy_context_sets_and_always_restores_the_global_policy():
    before = keras.mixed_precision.global_policy().name
    with pytest.raises(RuntimeError):
        with precision.policy('mixed_bfloat16') as name:
            assert name == keras.mixed_precision.global_policy().name == 'mixed_bfloat16'
            raise RuntimeError('a failure inside')
    assert keras.mixed_precision.global_policy().name == before
