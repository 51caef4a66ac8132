"""What a workdir holds and how it is saved and restored.

    <workdir>/config.json          the Config the models were built from (export/eval read it),
                                   plus a "run" entry (run_info.py; Config ignores it)
    <workdir>/checkpoints/ckpt-N.* step N: step counter, both models, both optimizers (Adam
                                   slots, and the loss scale under float16), the dropout RNG
                                   state and, with --ema_decay, the generator's moving average
                                   (`ema_generator`); the input position follows from the step
    <workdir>/train, <workdir>/eval TensorBoard event files
    <workdir>/events.out.*         the run's config for TensorBoard's HParams tab (loop.py)
    <workdir>/train.lock           who trains this workdir now (workdir_lock; empty when no one)

A checkpoint is written by TensorFlow to new files and only then named in
`checkpoints/checkpoint`, so an interrupted save leaves the previous checkpoint the latest one.
Each save also writes `ckpt-N.sha256`; every reader here (training's resume, export, evaluate,
the Python API) takes the newest checkpoint that passes it and sets damaged ones aside
(`checkpoint_integrity`).
"""

import dataclasses
import json
import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from pix2pix_tf import config as config_lib
from pix2pix_tf.data import disk_space
from pix2pix_tf.model import ema
from pix2pix_tf.model import networks
from pix2pix_tf.model import precision
from pix2pix_tf.training import checkpoint_integrity

CHECKPOINT_DIR = 'checkpoints'
BEST_DIR = 'best'  # --keep_best: the best checkpoint by a validation metric, and best.json.


EMA_KEY = 'ema_generator'  # The checkpoint entry of the generator's moving average.


def dropout_states(generator: keras.Model) -> list:
    """The generator's dropout RNG state variables (Keras keeps them outside the weights)."""
    return [layer.seed_generator.state for layer in generator.layers
            if isinstance(layer, keras.layers.Dropout)]


def make_checkpoint(state) -> tf.train.Checkpoint:
    """A tf.train.Checkpoint of a `train_step.TrainState`.

    The input pipeline needs no state of its own: its position is a function of the step.
    """
    extra = {} if state.ema_generator is None else {EMA_KEY: state.ema_generator}
    return tf.train.Checkpoint(step=state.step, generator=state.generator,
                               discriminator=state.discriminator,
                               generator_optimizer=state.generator_optimizer,
                               discriminator_optimizer=state.discriminator_optimizer,
                               dropout_states=dropout_states(state.generator), **extra)


def state_bytes(state) -> int:
    """Bytes of a TrainState's variables: about the size of its checkpoint once Adam's slots
    exist (after the first step)."""
    variables = [*state.generator.variables, *state.discriminator.variables,
                 *state.generator_optimizer.variables, *state.discriminator_optimizer.variables,
                 *(state.ema_generator.variables if state.ema_generator is not None else [])]
    return sum(int(np.prod(variable.shape)) * tf.as_dtype(variable.dtype).size
               for variable in variables)


def has_ema(path: str) -> bool:
    """Whether the checkpoint at `path` holds a generator moving average."""
    return any(name.startswith(EMA_KEY + '/')
               for name, _ in tf.train.list_variables(path))


def make_manager(state, workdir: str, keep_checkpoints: int) -> tf.train.CheckpointManager:
    return tf.train.CheckpointManager(make_checkpoint(state),
                                      os.path.join(workdir, CHECKPOINT_DIR),
                                      max_to_keep=keep_checkpoints)


def restore_latest(state, workdir: str, log=checkpoint_integrity.warn,
                   set_aside: bool = True) -> str | None:
    """Restores a TrainState from the newest readable checkpoint of workdir/checkpoints, if
    any; returns its path.

    Damaged newer ones are named through `log` and, with `set_aside` (the chief), renamed to
    *.damaged; NoReadableCheckpoint (a ConfigError) when no checkpoint reads. Every worker of a
    multi-worker run restores the chief's series (the only one kept). A checkpoint written
    without --ema_decay restores into a state with an average: the average starts at the
    restored generator.
    """
    path = checkpoint_integrity.newest_readable(os.path.join(workdir, CHECKPOINT_DIR), log,
                                                rename=set_aside)
    if path:
        start_average = state.ema_generator is not None and not has_ema(path)
        restored = dataclasses.replace(state, ema_generator=None) if start_average else state
        make_checkpoint(restored).restore(path).assert_existing_objects_matched()
        if start_average:
            ema.copy_weights(state.generator, state.ema_generator)
    return path


def save(manager: tf.train.CheckpointManager, step: int, then: str = '') -> str:
    """Saves checkpoint `step` and its checksum file; returns its path prefix.

    On a full disk it removes what this save wrote (`ckpt-N_temp/`, and ckpt-N's files unless
    the state file already names them) and raises DiskFullError naming the folder and the
    bytes needed, followed by `then` (what to do); every earlier checkpoint is kept.
    """
    try:
        path = manager.save(checkpoint_number=step)
        checkpoint_integrity.write_checksum(path)
        checkpoint_integrity.remove_stale_checksums(manager.directory)
    except (tf.errors.OpError, OSError) as error:
        if not disk_space.is_disk_full(error):
            raise
        needed = _remove_unfinished_save(manager.directory, step)
        raise disk_space.DiskFullError(disk_space.message(
            manager.directory, f'checkpoint ckpt-{step}', needed + disk_space.MARGIN_BYTES,
            then or 'free some space and run the same command again')) from None
    return path


def _remove_unfinished_save(directory: str, step: int) -> int:
    """Deletes the files a failed save of `step` left; returns the bytes that save needed
    (estimated from the newest earlier checkpoint, or from what it had written)."""
    prefix = os.path.join(directory, f'ckpt-{step}')
    written = 0
    temporary = prefix + '_temp'
    if os.path.isdir(temporary):
        written += sum(entry.stat().st_size for entry in os.scandir(temporary))
        shutil.rmtree(temporary, ignore_errors=True)
    for leftover in (prefix + checkpoint_integrity.CHECKSUM_SUFFIX + '.tmp',
                     os.path.join(directory, checkpoint_integrity.STATE_FILE + '.tmp')):
        if os.path.isfile(leftover):
            os.remove(leftover)
    recorded = tf.train.latest_checkpoint(directory) == prefix
    if not recorded:  # TensorFlow never named it: the files are this save's, unfinished.
        for path in checkpoint_integrity.files_of(prefix):
            written += os.path.getsize(path)
            os.remove(path)
    earlier = [kept for kept in checkpoint_integrity.steps_on_disk(directory) if kept < step]
    if earlier:
        previous = os.path.join(directory, f'ckpt-{earlier[-1]}')
        return max(written, checkpoint_integrity.size_of(previous))
    return written


def available_steps(workdir: str) -> list[int]:
    """Steps of the checkpoints kept in workdir/checkpoints, ascending ([] when none)."""
    return checkpoint_integrity.steps_on_disk(os.path.join(workdir, CHECKPOINT_DIR))


def checkpoint_path(workdir: str, step: int | None = None,
                    log=checkpoint_integrity.warn) -> str:
    """Path prefix of the newest readable checkpoint (or the one of `step`).

    A damaged checkpoint is named through `log` and set aside (*.damaged); ConfigError when
    there is none, none readable, or the one of `step` is missing or damaged.
    """
    directory = os.path.join(workdir, CHECKPOINT_DIR)
    if step is None:
        path = checkpoint_integrity.newest_readable(directory, log)
        if not path:
            raise config_lib.ConfigError(f'no checkpoint in {directory}: train first '
                                         f'(python train.py --workdir={workdir}).')
        return path
    path = os.path.join(directory, f'ckpt-{step}')
    reason = (checkpoint_integrity.problem(path) if tf.io.gfile.exists(path + '.index')
              else None)
    if reason:
        checkpoint_integrity.set_aside(path)
    remaining = available_steps(workdir)
    available = ", ".join(map(str, remaining)) or "none"
    if reason:
        if remaining:
            checkpoint_integrity.repair_state_file(directory, remaining, log)
        raise checkpoint_integrity.DamagedCheckpoint(
            f'checkpoint {path} is damaged ({reason}); set aside as ckpt-{step}.*.damaged; '
            f'available steps: {available}.')
    if step not in remaining:
        raise config_lib.ConfigError(f'no checkpoint for step {step} in {directory}; available '
                                     f'steps: {available}.')
    return path


def restore_generator(workdir: str, step: int | None = None, use_ema: bool | None = None):
    """(Config, generator, checkpoint path): the generator alone, from a training workdir.

    Built from workdir/config.json under the float32 policy (checkpoint variables are float32
    under every training policy), with its dropout RNG state, from the latest checkpoint or
    the one of `step`. `use_ema` (default: whether the run was trained with --ema_decay)
    restores the generator's moving average instead of its trained weights. Raises
    ConfigError when the workdir or checkpoint is missing, or has no average to use.
    """
    config = config_lib.read_workdir_config(workdir)
    path = checkpoint_path(workdir, step)
    if use_ema is None:
        use_ema = bool(config.ema_decay)
    if use_ema and not has_ema(path):
        raise config_lib.ConfigError(
            f'checkpoint {path} holds no generator moving average (trained without '
            f'--ema_decay): score or export its trained weights instead.')
    with precision.policy('float32'):
        # The stock (unsynchronized) layers: a restored generator runs outside any strategy.
        generator = networks.generator_for(dataclasses.replace(config, sync_batch_norm=False))
    # The average's dropout draws are the trained generator's (they are not averaged).
    checkpoint = tf.train.Checkpoint(**{EMA_KEY if use_ema else 'generator': generator},
                                     dropout_states=dropout_states(generator))
    try:
        checkpoint.restore(path).expect_partial().assert_existing_objects_matched()
    except (tf.errors.OpError, ValueError, AssertionError, IndexError) as error:
        # IndexError: TF's checkpoint reader on a truncated data file ("Read less bytes").
        reason = (getattr(error, 'message', None) or str(error) or type(error).__name__)
        reason = reason.strip().splitlines()[0]
        raise config_lib.ConfigError(
            f'cannot read the generator from checkpoint {path} ({reason[:200]}); it is damaged '
            f'or from another model: pick another with --checkpoint_step '
            f'(available: {", ".join(map(str, available_steps(workdir))) or "none"}).') from None
    return config, generator, path


def step_of(path: str) -> int:
    """The step number of a checkpoint path prefix (.../ckpt-N)."""
    return int(os.path.basename(path).rsplit('-', 1)[1])


class BestCheckpoint:
    """Keeps the one checkpoint with the best value of a validation metric in workdir/best.

    best.json records {metric, value, step}; it is written (atomically) after the checkpoint,
    so it never names a checkpoint that is not there. A resumed run reads it back.
    """

    def __init__(self, state, workdir: str, metric: str, lower_is_better: bool):
        self.metric, self.lower_is_better = metric, lower_is_better
        self.manager = tf.train.CheckpointManager(make_checkpoint(state),
                                                  os.path.join(workdir, BEST_DIR), max_to_keep=1)
        self.record_path = os.path.join(workdir, BEST_DIR, 'best.json')
        self.best = None
        if os.path.isfile(self.record_path):
            with open(self.record_path) as file:
                record = json.load(file)
            if record.get('metric') == metric:
                self.best = record['value']

    def update(self, metrics: dict, step: int) -> bool:
        """Saves a checkpoint when metrics[metric] beats the best so far; True if it did."""
        value = float(metrics[self.metric])
        if not np.isfinite(value):
            return False
        if self.best is not None and (value >= self.best if self.lower_is_better
                                      else value <= self.best):
            return False
        path = save(self.manager, step)
        temporary = self.record_path + '.tmp'
        with open(temporary, 'w') as file:
            json.dump({'metric': self.metric, 'value': value, 'step': step,
                       'checkpoint': os.path.basename(path)}, file, indent=2)
        os.replace(temporary, self.record_path)
        self.best = value
        return True
