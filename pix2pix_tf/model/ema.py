"""The generator's exponential moving average (`--ema_decay`): a second generator whose every
float weight, batch-norm moving statistics included, follows the trained one slowly.

Used by the training step (one update after each step), checkpoints (`ema_generator`), and
everything that shows or serves the generator (periodic evaluation, evaluate.py, export.py,
`pix2pix_tf.load_generator`). Averaging the weights of a GAN generator gives smoother, more
stable outputs (Yazici et al., "The Unusual Effectiveness of Averaging in GAN Training", ICLR
2019; Karras et al., Progressive GAN, 2018).
"""

import keras
import tensorflow as tf


def averaged_weights(generator: keras.Model, ema_generator: keras.Model) -> list:
    """[(average, weight)]: every float weight of the generator (batch-norm moving statistics
    included, so the average's eval mode uses statistics that match its weights) and its
    average. The dropout RNG state is not a weight and is not averaged."""
    pairs = list(zip(ema_generator.weights, generator.weights))
    for average, weight in pairs:
        if tuple(average.shape) != tuple(weight.shape):
            raise ValueError(f'EMA generator does not match the generator at {weight.path}')
    return pairs


def copy_weights(generator: keras.Model, ema_generator: keras.Model) -> None:
    """Starts the average at the generator's current weights."""
    for average, weight in averaged_weights(generator, ema_generator):
        average.assign(weight)


def update_average(average, weight, decay) -> None:
    """average = decay * average + (1 - decay) * weight, in two passes over memory.

    Written as average -= (1 - decay) * (average - weight) with the fused gradient-descent
    kernel; mirrored (several-device) variables take the plain assign, which updates every copy.
    """
    average = average.value if isinstance(average, keras.Variable) else average
    weight = weight.value if isinstance(weight, keras.Variable) else weight
    if isinstance(average, tf.distribute.DistributedValues):
        average.assign(decay * average + (1.0 - decay) * weight)
        return
    tf.raw_ops.ResourceApplyGradientDescent(var=average.handle, alpha=1.0 - decay,
                                            delta=average - weight)


def decay_at(step, decay: float) -> tf.Tensor:
    """The decay used after update `step` (1-based): min(decay, (1 + step) / (10 + step)).

    The warm-up (as tf.train.ExponentialMovingAverage's num_updates) keeps the average from
    dragging the random initial weights through a short run.
    """
    step = tf.cast(step, tf.float32)
    return tf.minimum(tf.constant(decay, tf.float32), (1.0 + step) / (10.0 + step))
