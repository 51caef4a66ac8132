"""The explicit training loop: resume, train steps, summaries, evaluation, checkpoints.

`train_and_evaluate` runs three named phases: `_start` (workdir, models, restore, data, the
compiled step, first summaries), `_loop` (steps; summaries, samples, checkpoints and
evaluation keyed by the step; a signal stops it after a checkpoint) and `_finish` (the last
checkpoint and evaluation). What the phases share is one `_Run`.

One loop for every tf.distribute strategy (`pix2pix_tf/training/distribute.py`): models, optimizers
and checkpoint live in the strategy's scope, each worker feeds its slice of the global batch,
and only the chief writes (checkpoints, summaries, config.json); other workers save to a
temporary folder that is deleted, as TensorFlow's multi-worker guide does, because saving may
need every worker.
"""

import dataclasses
import io
import os
import time

import keras
import tensorflow as tf

from pix2pix_tf import config as config_lib
from pix2pix_tf.data import disk_space
from pix2pix_tf.data import input_pipeline
from pix2pix_tf.data import sources
from pix2pix_tf.evaluation import gan_metrics
from pix2pix_tf.evaluation import pixel_metrics
from pix2pix_tf.model import precision
from pix2pix_tf.training import checkpoint_integrity
from pix2pix_tf.training import checkpoints
from pix2pix_tf.training import distribute
from pix2pix_tf.training import divergence
from pix2pix_tf.training import event_files
from pix2pix_tf.training import progress
from pix2pix_tf.training import run_info
from pix2pix_tf.training import train_step as train_step_lib


def _report_skipped(source, splits, log) -> int:
    """Names each unusable file of the splits once through `log`; returns how many there are.

    ConfigError (one line naming the folder) when a split has no usable file, instead of a
    pipeline that skips forever. TFDS datasets were checked when they were built: 0.
    """
    total = 0
    for split in splits:
        _, skipped = source.usable(split)
        for path, reason in skipped:
            log(f'skipped {path}: {reason}')
        if skipped:
            log(f'{source.folder(split)}: {len(skipped)} file(s) skipped')
        total += len(skipped)
    return total


@dataclasses.dataclass
class _Run:
    """What the phases of one training run share (set up by `_start`)."""

    config: config_lib.Config
    workdir: str
    source: object
    chief: bool
    state: train_step_lib.TrainState
    manager: tf.train.CheckpointManager
    save_dir: str
    bar: progress.Progress
    step: int
    train_writer: object = None
    eval_writer: object = None
    eval_step: object = None  # Generator (or its average) -> generated photos, for eval.
    feature_fn: object = None  # InceptionV3 features with --inception_weights.
    best: checkpoints.BestCheckpoint | None = None
    samples: dict | None = None  # The fixed validation batch drawn in TensorBoard.
    saved_at: int = -1
    evaluated_at: int = -1
    checkpoint_bytes: int = 0  # Size of one checkpoint (the disk-space checks need it).
    eval_metrics: dict = dataclasses.field(default_factory=dict)


def train_and_evaluate(config: config_lib.Config, workdir: str, source=None) -> dict:
    """Trains (resuming from `workdir` when it has checkpoints) to `config.train_steps`.

    Writes `workdir/config.json`, checkpoints under `workdir/checkpoints`, TensorBoard events
    under `workdir/train` and `workdir/eval`. `source`: config.dataset already resolved (by the
    train command; resolved here when not given). Returns the last step reached, whether a
    signal stopped it, and the final validation metrics (empty on non-chief workers).
    """
    strategy = distribute.make_strategy(config)  # Before other TensorFlow work (multi-worker).
    distribute.check_batch_size(config, strategy)
    source = source or sources.resolve(config.dataset, config.data_dir)
    started = []  # The _Run, once _start has made it.
    try:
        with precision.policy(precision.resolve(config.precision)) as policy:
            run, train_iterator, train_step = _start(config, workdir, policy, strategy, source,
                                                     started)
            stopped_by = _loop(run, train_iterator, train_step)
            return _finish(run, stopped_by)
    except (tf.errors.OpError, OSError) as error:
        if not disk_space.is_disk_full(error):
            raise
        needed = (_checkpoint_bytes(started[0]) if started else 0) + disk_space.MARGIN_BYTES
        raise disk_space.DiskFullError(disk_space.error_message(
            error, workdir, needed, _resume_hint(workdir))) from None


def _resume_hint(workdir: str) -> str:
    steps = checkpoints.available_steps(workdir)
    last = f'checkpoint ckpt-{steps[-1]}' if steps else 'step 0'
    return f'free some space and run the same command to resume from {last}'


def _checkpoint_bytes(run: '_Run') -> int:
    """Bytes one checkpoint takes: the latest one's files, else its variables' sizes."""
    if not run.checkpoint_bytes:
        latest = run.manager.latest_checkpoint
        run.checkpoint_bytes = checkpoint_integrity.size_of(latest) if latest else 0
    # None kept yet, or a non-chief worker's (deleted): the variables, Adam's slots included
    # once the first step has made them.
    return run.checkpoint_bytes or checkpoints.state_bytes(run.state)


def _check_space(run: '_Run', what: str) -> None:
    """DiskFullError unless the disk has room for the next checkpoint. TensorBoard's writer
    drops events silently on a full disk, so summary windows check too."""
    disk_space.check(run.save_dir, _checkpoint_bytes(run), what, _resume_hint(run.workdir))


def _start(config, workdir, policy, strategy, source, started: list):
    """(_Run, input iterator, compiled step): everything before the first step; the _Run is
    also appended to `started` as soon as it exists."""
    chief = distribute.is_chief(strategy)
    if chief:
        run_info.write_config(config, workdir, {
            'precision': policy, 'strategy': distribute.describe(strategy),
            'versions': run_info.package_versions()})
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        state = train_step_lib.create_state(config, policy)
    save_dir = workdir if chief else distribute.worker_temp_dir(workdir, strategy)
    # Only the chief reports progress; other workers would repeat it.
    bar = progress.Progress(config.train_steps, config.log_every, batch_size=config.batch_size,
                            stream=None if chief else io.StringIO())
    restored = checkpoints.restore_latest(state, workdir, bar.log, set_aside=chief)
    run = _Run(config, workdir, source, chief, state,
               checkpoints.make_manager(state, save_dir, config.keep_checkpoints), save_dir,
               bar, int(state.step.numpy()))
    started.append(run)
    run.saved_at = run.step
    if chief:  # Before any writer opens: steps logged after the checkpoint go.
        for folder in ('train', 'eval'):
            event_files.drop_steps_after(os.path.join(workdir, folder), run.step)
    skipped_files = _report_skipped(source, sources.REQUIRED_SPLITS, bar.log)
    num_workers, worker_index = distribute.worker_info(strategy)
    train_iterator = iter(input_pipeline.train_dataset(config, run.step, num_workers,
                                                       worker_index, source, bar.log))
    bar.log(f'{"Resuming from " + restored if restored else "Starting"} at step {run.step} of '
            f'{config.train_steps}; precision {policy}, batch {config.batch_size}, '
            f'{config.image_size}x{config.image_size}, {distribute.describe(strategy)}, '
            f'workdir {workdir}')

    def writer(name):
        if not chief:
            return tf.summary.create_noop_writer()
        return tf.summary.create_file_writer(os.path.join(workdir, name))

    run.train_writer, run.eval_writer = writer('train'), writer('eval')
    # With --ema_decay, evaluation and samples show the average, as evaluate.py and export do.
    shown = state.generator if state.ema_generator is None else state.ema_generator
    run.eval_step = pixel_metrics.make_eval_step(shown, config.inference_mode)
    if chief:
        if config.inception_weights:
            run.feature_fn = pixel_metrics.make_feature_fn(
                gan_metrics.load_inception(config.inception_weights))
        if config.keep_best != 'none':
            run.best = checkpoints.BestCheckpoint(state, workdir, config.keep_best,
                                                  pixel_metrics.LOWER_IS_BETTER[config.keep_best])
        if config.num_samples:
            run.samples = next(iter(input_pipeline.eval_dataset(
                config, config.num_samples, config.num_samples, source=source)))
    train_step = train_step_lib.make_train_step(state, config, strategy)

    with run.train_writer.as_default(step=run.step):
        tf.summary.scalar('data/skipped_files', skipped_files)
    if run.step == 0:
        if chief:
            pixel_metrics.write_hparams(config, policy, workdir)
        with run.train_writer.as_default(step=0):
            tf.summary.text('config', f'```\n{config.to_json()}```')
        _write_samples(run)
    return run, train_iterator, train_step


def _write_samples(run: _Run) -> None:
    if run.samples is not None:
        _check_space(run, 'the sample grid and the next checkpoint')
        with run.eval_writer.as_default(step=run.step):
            tf.summary.image('samples', pixel_metrics.sample_grid(run.eval_step, run.samples),
                             max_outputs=1)


def _write_window(run: _Run) -> None:
    """The means of the steps since the last summary, the learning rate and images/s."""
    means, images_per_second = run.bar.take_window()
    if run.chief:
        _check_space(run, 'TensorBoard events and the next checkpoint')
    with run.train_writer.as_default(step=run.step):
        for name, value in means.items():
            tf.summary.scalar(name, value)
        tf.summary.scalar('learning_rate',
                          train_step_lib.learning_rate_at(run.step - 1, run.config))
        if images_per_second is not None:
            tf.summary.scalar('images_per_second', images_per_second)


def _evaluate(run: _Run) -> None:
    """Validation metrics (chief only): TensorBoard, the log, and --keep_best."""
    run.evaluated_at = run.step
    if not run.chief:
        return
    config = run.config
    dataset = input_pipeline.eval_dataset(config, config.batch_size, config.eval_examples,
                                          source=run.source)
    metrics = pixel_metrics.evaluate(run.eval_step, dataset, run.feature_fn).metrics
    pixel_metrics.write_scalars(run.eval_writer, run.step, 'metrics', metrics)
    gan = (f'  FID {metrics["fid"]:.2f}  KID {metrics["kid"]:.4f}' if 'fid' in metrics else '')
    real = (f'  colour x{metrics["colour_ratio"]:.2f}  texture x{metrics["texture_ratio"]:.2f}'
            + (f'  2-sample {metrics["two_sample_accuracy"]:.2f}'
               if 'two_sample_accuracy' in metrics else ''))
    kept = ' (new best: saved to best/)' if run.best and run.best.update(metrics, run.step) else ''
    run.bar.log(f'step {run.step}: validation L1 {metrics["l1"]:.4f}  PSNR '
                f'{metrics["psnr"]:.2f} dB  SSIM {metrics["ssim"]:.4f}{gan}{real}  '
                f'({metrics["num_examples"]} pairs){kept}')
    run.eval_metrics = metrics


def _save(run: _Run) -> None:
    """Saves a checkpoint unless a variable is not finite (divergence.check_variables)."""
    divergence.check_variables((run.state.generator, run.state.discriminator), run.step,
                               run.manager.latest_checkpoint)
    _check_space(run, f'checkpoint ckpt-{run.step}')
    checkpoints.save(run.manager, run.step, _resume_hint(run.workdir))
    run.saved_at = run.step
    if not run.chief:
        distribute.remove_worker_temp_dir(run.save_dir)


def _loop(run: _Run, train_iterator, train_step) -> str | None:
    """Steps to config.train_steps; returns what stopped it early (a signal's name) or None."""
    config = run.config
    loss_scaled = precision.uses_loss_scaling(run.state.generator_optimizer)
    loss_limit = divergence.exploded_loss_limit(config.l1_weight)
    skipped_in_a_row, stopped_by = 0, None
    with progress.stop_on_signals() as stop:
        while run.step < config.train_steps and not stopped_by:
            started = time.perf_counter()
            outputs, any_stop = train_step(train_iterator,
                                           tf.constant(int(stop['signal'] is not None)))
            metrics = {name: float(value) for name, value in outputs.items()}
            run.step += 1
            run.bar.step_done(run.step, metrics, time.perf_counter() - started)
            if int(any_stop):
                stopped_by = stop['signal'] or 'a stop request on another worker'
            skipped_in_a_row = divergence.check_losses(
                metrics, run.step, skipped_in_a_row, loss_scaled, run.manager.latest_checkpoint,
                loss_limit)
            if run.step % config.log_every == 0 or run.step == config.train_steps:
                _write_window(run)
            if run.step % config.sample_every == 0:
                _write_samples(run)
            # Save before evaluating: an evaluation that fails never costs the step's work.
            if run.step % config.checkpoint_every == 0:
                _save(run)
            if run.step % config.eval_every == 0:
                _evaluate(run)
    return stopped_by


def _finish(run: _Run, stopped_by: str | None) -> dict:
    """The last checkpoint and (unless stopped by a signal) the last evaluation."""
    if stopped_by:
        run.bar.log(f'{stopped_by} received at step {run.step}: saving a checkpoint and '
                    f'stopping; run the same command again to resume.')
    if run.saved_at != run.step:
        _save(run)
    if not stopped_by and run.evaluated_at != run.step:
        if run.step % run.config.sample_every:
            _write_samples(run)
        _evaluate(run)
    run.bar.close()
    run.train_writer.flush()
    run.eval_writer.flush()
    return {'step': run.step, 'stopped_by': stopped_by, **run.eval_metrics}
