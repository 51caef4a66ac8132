"""Numeric precision: which Keras dtype policy a run uses, and the optimizers that go with it.

`auto` picks:
- `mixed_float16` when a GPU is visible (tensor cores; the loss is scaled to keep float16
  gradients from underflowing);
- on a CPU, never float16: measured on this project's 2-core Xeon, a float16 pix2pix step is
  about 4x slower than float32 (no native float16 math). It picks `mixed_bfloat16` when the CPU
  has native bfloat16 instructions (AVX512-BF16 or AMX-BF16 in /proc/cpuinfo; measured about
  1.65-1.8x faster than float32 at batch 4, see benchmarks/README.md), else `float32`.
"""

import contextlib

import keras
import tensorflow as tf

NATIVE_BFLOAT16_FLAGS = ('avx512_bf16', 'amx_bf16')


def cpu_has_native_bfloat16(cpuinfo_path: str = '/proc/cpuinfo') -> bool:
    """True when the CPU advertises bfloat16 instructions (Linux; False where unknown)."""
    try:
        with open(cpuinfo_path) as cpuinfo:
            flags = cpuinfo.read().split()
    except OSError:
        return False
    return any(flag in flags for flag in NATIVE_BFLOAT16_FLAGS)


def resolve(precision: str) -> str:
    """The concrete policy name for a `--precision` value ('auto' decided by the hardware)."""
    if precision != 'auto':
        return precision
    if tf.config.list_physical_devices('GPU'):
        return 'mixed_float16'
    return 'mixed_bfloat16' if cpu_has_native_bfloat16() else 'float32'


@contextlib.contextmanager
def policy(name: str):
    """Keras's global dtype policy set to `name` inside the block, the previous one restored
    after (also on an exception). Models built inside get that policy's variable and compute
    dtypes."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield name
    finally:
        keras.mixed_precision.set_global_policy(previous)


class FusedAdam(keras.optimizers.Adam):
    """Keras's Adam, with each variable's update done by TensorFlow's fused ResourceApplyAdam.

    Same rule and the same slot variables (checkpoints are interchangeable with
    keras.optimizers.Adam): m += (g - m)(1 - beta_1); v += (g^2 - v)(1 - beta_2);
    w -= lr sqrt(1 - beta_2^t) / (1 - beta_1^t) m / (sqrt(v) + epsilon). Keras 3 writes that as
    about a dozen element-wise ops, each a pass over the variable's size in memory; the fused
    kernel makes one. The generator has 54 million weights at 256x256, so this was a large part
    of a CPU step at batch 1 (benchmarks/README.md). Sparse gradients and amsgrad fall back
    to Keras's code.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        handle = variable.value.handle if isinstance(variable, keras.Variable) else variable.handle
        return tf.raw_ops.ResourceApplyAdam(
            var=handle, m=m.value.handle, v=v.value.handle, beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step), lr=tf.cast(learning_rate, dtype), beta1=beta_1,
            beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype))


def make_optimizer(learning_rate, config, policy: str,
                   fused: bool = True) -> keras.optimizers.Optimizer:
    """Adam with `learning_rate` (a float or a no-argument callable) and the config's betas.

    Under `mixed_float16` it is wrapped in a dynamic `LossScaleOptimizer` (Keras 3 API: scale
    the loss with `scale_loss()` inside the tape; `apply()` unscales and skips steps whose
    gradients are not finite, lowering the scale). epsilon is 1e-8 as PyTorch's Adam in the
    reference (Keras defaults to 1e-7). `fused=False` gives Keras's own Adam (benchmarks).
    """
    adam = FusedAdam if fused else keras.optimizers.Adam
    optimizer = adam(learning_rate=learning_rate, beta_1=config.beta_1, beta_2=config.beta_2,
                     epsilon=1e-8)
    if policy == 'mixed_float16':
        optimizer = keras.mixed_precision.LossScaleOptimizer(optimizer)
    return optimizer


def uses_loss_scaling(optimizer) -> bool:
    return isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer)
