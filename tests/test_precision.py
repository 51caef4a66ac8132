import keras
import pytest

from pix2pix_tf import config as config_lib
from pix2pix_tf import precision


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


def test_auto_never_picks_float16_without_a_gpu():
    # This test machine has no GPU: auto must choose a CPU policy.
    assert precision.resolve('auto') in ('float32', 'mixed_bfloat16')
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
