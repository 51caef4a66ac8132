"""Reads TensorBoard event files back, for tests."""

import glob
import os

import tensorflow as tf


def read_events(logdir: str) -> dict[str, dict[int, object]]:
    """{tag: {step: value}} of every summary under logdir (scalars as floats, others as arrays)."""
    values = {}
    for path in sorted(glob.glob(os.path.join(logdir, 'events.out.tfevents.*'))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                array = tf.make_ndarray(value.tensor)
                values.setdefault(value.tag, {})[event.step] = (
                    float(array) if array.ndim == 0 and array.dtype.kind == 'f' else array)
    return values
