"""TensorBoard event files after a crash: a resumed run shows each step once, as one curve.

A run killed at step 1,250 whose last checkpoint is step 1,000 has logged steps 1,001-1,250;
resumed, it logs them again, and TensorBoard would draw both (a curve that doubles back).
TF1 runs wrote a session-start event that made TensorBoard's Python loader purge such steps;
TF2's summary writers write none, and TensorBoard's fast (Rust) loader would not read it. So
before the resumed run writes anything, `drop_steps_after` rewrites the event files of its
folders without the events past the restored step: every TensorBoard, and any other reader
of event files, then sees one curve. A record cut short by the crash is dropped too.
"""

import glob
import os

import tensorflow as tf
from tensorflow.core.util import event_pb2

TEMPORARY = '.rewrite.tmp'  # Not "*tfevents*": TensorBoard never reads it.


def _records(path: str) -> tuple[list[bytes], bool]:
    """(records, whether the file ended in a cut-short record)."""
    records = []
    try:
        for record in tf.data.TFRecordDataset(path):
            records.append(record.numpy())
    except tf.errors.DataLossError:  # The crash cut the last record short.
        return records, True
    return records, False


def drop_steps_after(folder: str, step: int) -> int:
    """Rewrites `folder`'s event files without events of steps after `step`; returns how many
    events were dropped. Files with nothing to drop are left as they are; each rewrite is
    atomic (a temporary file renamed over the old one)."""
    dropped = 0
    for path in sorted(glob.glob(os.path.join(folder, '*tfevents*'))):
        records, cut_short = _records(path)
        kept = [record for record in records if event_pb2.Event.FromString(record).step <= step]
        if len(kept) == len(records) and not cut_short:
            continue
        dropped += len(records) - len(kept)
        temporary = os.path.join(folder, TEMPORARY)
        with tf.io.TFRecordWriter(temporary) as writer:
            for record in kept:
                writer.write(record)
        os.replace(temporary, path)
    return dropped
