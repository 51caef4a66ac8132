"""Keras's batch norm computed by TensorFlow's fused kernel, for training (networks.py)."""

import keras
import tensorflow as tf


class FusedBatchNormalization(keras.layers.BatchNormalization):
    """Keras's BatchNormalization computed by TensorFlow's FusedBatchNormV3 (oneDNN on CPU, cuDNN
    on GPU): one op forward and one backward instead of about ten element-wise ones, in the
    layer's compute dtype (bfloat16/float16 activations, float32 statistics) with no casts of
    the activations. Same variables and the same update rule as the stock layer (the moving
    variance keeps Keras's biased batch variance; the kernel reports the unbiased one, which is
    rescaled), so checkpoints are interchangeable; tests/model/test_fused_batch_norm.py compares
    the two.
    Measured on a 2-core CPU at 256x256: 3-7% off a training step at batch 4, within noise at
    batch 1 (benchmarks/README.md).
    Synchronized batch norm, masks and non-image inputs take the stock path.
    """

    def call(self, inputs, training=None, mask=None):
        if (self.synchronized or mask is not None or len(inputs.shape) != 4
                or self.axis not in (-1, 3) or not (self.scale and self.center)):
            return super().call(inputs, training=training, mask=mask)
        scale, offset = tf.cast(self.gamma, tf.float32), tf.cast(self.beta, tf.float32)
        if not (training and self.trainable):
            return tf.raw_ops.FusedBatchNormV3(
                x=inputs, scale=scale, offset=offset, mean=tf.cast(self.moving_mean, tf.float32),
                variance=tf.cast(self.moving_variance, tf.float32), epsilon=self.epsilon,
                data_format='NHWC', is_training=False)[0]
        outputs, mean, variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=inputs, scale=scale, offset=offset, mean=tf.zeros_like(scale),
            variance=tf.ones_like(scale), epsilon=self.epsilon, exponential_avg_factor=1.0,
            data_format='NHWC', is_training=True)
        shape = tf.shape(inputs)
        count = tf.cast(shape[0] * shape[1] * shape[2], tf.float32)
        variance = variance * tf.maximum(count - 1.0, 1.0) / count  # The biased variance.
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum
                                    + variance * (1.0 - self.momentum))
        return outputs
