"""TensorBoard after a crash and resume (pix2pix_tf.training.event_files): the steps logged
after the restored checkpoint and before the crash show once, as TensorBoard's own loader
reads them."""

import glob
import os

from tensorboard.backend.event_processing import event_accumulator

from pix2pix_tf.training import checkpoint_integrity
from pix2pix_tf.training import event_files
from pix2pix_tf.training import loop

from conftest import tiny_config


def tensorboard_steps(folder: str, tag: str) -> list[int]:
    """The steps TensorBoard's event loader shows for `tag` (duplicates included)."""
    accumulator = event_accumulator.EventAccumulator(folder, size_guidance={'tensors': 0})
    accumulator.Reload()
    return [event.step for event in accumulator.Tensors(tag)]


def test_a_resumed_run_shows_each_step_once(tmp_path):
    workdir = str(tmp_path / 'run')
    config = tiny_config(train_steps=4, checkpoint_every=2, log_every=1, eval_every=2,
                         sample_every=1, num_samples=2)
    loop.train_and_evaluate(config, workdir)
    # A crash after step 4's summaries, before its checkpoint was written.
    checkpoint_integrity.set_aside(os.path.join(workdir, 'checkpoints', 'ckpt-4'))
    train = os.path.join(workdir, 'train')
    assert tensorboard_steps(train, 'generator/l1_loss') == [1, 2, 3, 4]

    result = loop.train_and_evaluate(config, workdir)  # Resumes from step 2.
    assert result['step'] == 4
    assert tensorboard_steps(train, 'generator/l1_loss') == [1, 2, 3, 4]
    assert tensorboard_steps(os.path.join(workdir, 'eval'), 'metrics/l1') == [2, 4]
    assert tensorboard_steps(os.path.join(workdir, 'eval'), 'samples') == [0, 1, 2, 3, 4]


def test_drop_steps_after_rewrites_only_what_it_must_and_drops_a_cut_short_record(tmp_path):
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for step in range(1, 6):
            tf.summary.scalar('loss', float(step), step=step)
    writer.close()
    (path,) = glob.glob(str(tmp_path / '*tfevents*'))
    before = os.stat(path)
    assert event_files.drop_steps_after(str(tmp_path), 5) == 0
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns  # Untouched.
    with open(path, 'ab') as file:
        file.write(b'\x10\x00\x00')  # The crash cut a record short.
    assert event_files.drop_steps_after(str(tmp_path), 3) == 2
    assert tensorboard_steps(str(tmp_path), 'loss') == [1, 2, 3]
    assert os.listdir(tmp_path) == [os.path.basename(path)]  # No temporary left.
