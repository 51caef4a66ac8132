"""The explicit training loop: resume, train steps, summaries, evaluation, checkpoints.

One loop for every tf.distribute strategy (`pix2pix_tf/distribute.py`): models, optimizers
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
import numpy as np
import tensorflow as tf

from pix2pix_tf import checkpoints
from pix2pix_tf import config as config_lib
from pix2pix_tf import distribute
from pix2pix_tf import evaluation
from pix2pix_tf import gan_metrics
from pix2pix_tf import input_pipeline
from pix2pix_tf import model_card
from pix2pix_tf import precision
from pix2pix_tf import progress
from pix2pix_tf import sources
from pix2pix_tf import train_step as train_step_lib

# Losses that stop training when they are not finite or explode.
WATCHED_LOSSES = ('generator/total_loss', 'discriminator/real_loss', 'discriminator/fake_loss')
# A healthy run's losses stay far below this: the L1 term is at most l1_weight x 2 (200 at the
# default weight) and the BCE terms rarely pass 30. A finite loss above it (a run diverging
# with --learning_rate=1e6 reaches 1e15 before any NaN) stops training like a NaN does. With a
# large --l1_weight the limit grows: 10 x (2 x l1_weight + 30) when that is more.
EXPLODED_LOSS = 1e4


def exploded_loss_limit(l1_weight: float) -> float:
    """The loss above which a run counts as diverging (see EXPLODED_LOSS)."""
    return max(EXPLODED_LOSS, 10 * (2 * l1_weight + 30))
# Under float16 loss scaling a non-finite step is skipped by the optimizer (weights untouched);
# only this many in a row stop training.
MAX_SKIPPED_STEPS = 10


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the message names the step and what to do."""


def _check_finite(metrics: dict, step: int, skipped_in_a_row: int, loss_scaled: bool,
                  last_checkpoint: str | None, limit: float = EXPLODED_LOSS) -> int:
    """Returns the new count of non-finite steps in a row; raises NonFiniteLossError to stop.

    A loss over `limit` (`exploded_loss_limit`) stops at once; a non-finite one gets
    MAX_SKIPPED_STEPS chances under float16 loss scaling (the scaler skips such updates).
    """
    exploded = [name for name in WATCHED_LOSSES
                if np.isfinite(metrics[name]) and abs(metrics[name]) > limit]
    bad = [name for name in WATCHED_LOSSES if not np.isfinite(metrics[name])] + exploded
    if not bad:
        return 0
    skipped_in_a_row += 1
    if loss_scaled and not exploded and skipped_in_a_row < MAX_SKIPPED_STEPS:
        return skipped_in_a_row  # The loss scaler skipped this update; give it another chance.
    kept = (f'the last good checkpoint {last_checkpoint} is untouched' if last_checkpoint
            else 'no checkpoint was written')
    raise NonFiniteLossError(
        f'training stopped at step {step}: {", ".join(bad)} = '
        f'{", ".join(str(metrics[name]) for name in bad)}'
        f'{f" (over {limit:g}: diverging)" if exploded else ""}; {kept}. Lower '
        f'--learning_rate or --l1_weight, or use --precision=float32.')


def _check_data(config: config_lib.Config, log) -> int:
    """Names each unusable file of a folder dataset once; returns how many were skipped.

    Raises ConfigError (one line naming the folder) when a split has no usable file, instead of
    a pipeline that skips forever. TFDS datasets were checked when they were built.
    """
    source = sources.resolve(config.dataset, config.data_dir)
    if isinstance(source, sources.TfdsDataset):
        return 0
    total = 0
    for split in ('train', 'eval'):
        _, skipped = sources.usable(source, split)
        for path, reason in skipped:
            log(f'skipped {path}: {reason}')
        if skipped:
            log(f'{sources.split_folder(source, split)}: {len(skipped)} file(s) skipped')
        total += len(skipped)
    return total


def _write_hparams(config: config_lib.Config, policy: str, workdir: str) -> None:
    """The run's config in TensorBoard's HParams tab, next to its validation metrics.

    Written once, at the workdir's root (TensorBoard's "session"); the metrics are the eval/
    run's `metrics/*` scalars, so every run under one --logdir can be compared there.
    """
    from tensorboard.plugins.hparams import api as hparams_api

    values = {name: value for name, value in dataclasses.asdict(config).items()
              if isinstance(value, (bool, int, float, str))}
    values['precision_resolved'] = policy
    metrics = [hparams_api.Metric(f'metrics/{name}', group='eval', display_name=name)
               for name in evaluation.METRICS + evaluation.GAN_METRICS]
    with tf.summary.create_file_writer(workdir).as_default():
        hparams_api.hparams_config(hparams=[hparams_api.HParam(name) for name in values],
                                   metrics=metrics)
        hparams_api.hparams(values, trial_id=os.path.basename(os.path.normpath(workdir)))


def _save(manager, state, step: int) -> None:
    """Saves a checkpoint, unless a variable is not finite (then the last good one stays latest).

    Every variable counts, batch-norm moving statistics included: a diverging run can keep
    finite weights while its moving variances overflow, and eval mode would then be garbage.
    """
    for model in (state.generator, state.discriminator):
        bad = [variable.path for variable in model.variables
               if not bool(tf.reduce_all(tf.math.is_finite(tf.cast(variable, tf.float32))))]
        if bad:
            raise NonFiniteLossError(
                f'training stopped at step {step}: {model.name} variables are not finite '
                f'({", ".join(bad[:3])}{", ..." if len(bad) > 3 else ""}); the last good '
                f'checkpoint {manager.latest_checkpoint} is untouched. Lower --learning_rate '
                f'or use --precision=float32.')
    checkpoints.save(manager, step)


def train_and_evaluate(config: config_lib.Config, workdir: str) -> dict:
    """Trains (resuming from `workdir` when it has checkpoints) to `config.train_steps`.

    Writes `workdir/config.json`, checkpoints under `workdir/checkpoints`, TensorBoard events
    under `workdir/train` and `workdir/eval`. Returns the last step reached, whether a signal
    stopped it, and the final validation metrics (empty on non-chief workers).
    """
    strategy = distribute.make_strategy(config)  # Before other TensorFlow work (multi-worker).
    distribute.check_batch_size(config, strategy)
    policy = precision.resolve(config.precision)
    previous_policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        return _train(config, workdir, policy, strategy)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)


def _train(config: config_lib.Config, workdir: str, policy: str, strategy) -> dict:
    chief = distribute.is_chief(strategy)
    if chief:
        checkpoints.write_config(config, workdir, {
            'precision': policy, 'strategy': distribute.describe(strategy),
            'versions': model_card.package_versions()})
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        state = train_step_lib.create_state(config, policy)
    save_dir = workdir if chief else distribute.worker_temp_dir(workdir, strategy)
    manager = checkpoints.make_manager(state, save_dir, config.keep_checkpoints)
    # Only the chief reports progress; other workers would repeat it.
    bar = progress.Progress(config.train_steps, config.log_every,
                            stream=None if chief else io.StringIO())
    restored = checkpoints.restore_latest(state, workdir)  # The chief's series.
    step = int(state.step.numpy())
    skipped_files = _check_data(config, bar.log)
    num_workers, worker_index = distribute.worker_info(strategy)
    train_iterator = iter(input_pipeline.train_dataset(config, step, num_workers, worker_index))
    bar.log(f'{"Resuming from " + restored if restored else "Starting"} at step {step} of '
            f'{config.train_steps}; precision {policy}, batch {config.batch_size}, '
            f'{config.image_size}x{config.image_size}, {distribute.describe(strategy)}, '
            f'workdir {workdir}')

    def writer(name):
        if not chief:
            return tf.summary.create_noop_writer()
        return tf.summary.create_file_writer(os.path.join(workdir, name))

    train_writer, eval_writer = writer('train'), writer('eval')
    if chief and step == 0:
        _write_hparams(config, policy, workdir)
    # With --ema_decay, evaluation and samples show the average, as evaluate.py and export do.
    shown = state.generator if state.ema_generator is None else state.ema_generator
    eval_step = evaluation.make_eval_step(shown, config.inference_mode)
    feature_fn = None
    if config.inception_weights and chief:
        feature_fn = evaluation.make_feature_fn(
            gan_metrics.load_inception(config.inception_weights))
    best = None
    if config.keep_best != 'none' and chief:
        best = checkpoints.BestCheckpoint(state, workdir, config.keep_best,
                                          evaluation.LOWER_IS_BETTER[config.keep_best])
    samples = None
    if config.num_samples and chief:
        samples = next(iter(input_pipeline.eval_dataset(config, config.num_samples,
                                                        config.num_samples)))
    train_step = train_step_lib.make_train_step(state, config, strategy)
    loss_scaled = precision.uses_loss_scaling(state.generator_optimizer)
    loss_limit = exploded_loss_limit(config.l1_weight)

    def write_samples():
        with eval_writer.as_default(step=step):
            tf.summary.image('samples', evaluation.sample_grid(eval_step, samples), max_outputs=1)

    def run_eval():
        if not chief:
            return {}
        dataset = input_pipeline.eval_dataset(config, config.batch_size, config.eval_examples)
        metrics = evaluation.evaluate(eval_step, dataset, feature_fn).metrics
        with eval_writer.as_default(step=step):
            for name in evaluation.METRICS + evaluation.GAN_METRICS:
                if name in metrics:
                    tf.summary.scalar(f'metrics/{name}', metrics[name])
        gan = (f'  FID {metrics["fid"]:.2f}  KID {metrics["kid"]:.4f}' if 'fid' in metrics
               else '')
        kept = ' (new best: saved to best/)' if best and best.update(metrics, step) else ''
        bar.log(f'step {step}: validation L1 {metrics["l1"]:.4f}  PSNR {metrics["psnr"]:.2f} dB  '
                f'SSIM {metrics["ssim"]:.4f}{gan}  ({metrics["num_examples"]} pairs){kept}')
        return metrics

    def save():
        _save(manager, state, step)
        if not chief:
            distribute.remove_worker_temp_dir(save_dir)

    with train_writer.as_default(step=step):
        tf.summary.scalar('data/skipped_files', skipped_files)
    if step == 0:
        with train_writer.as_default(step=0):
            tf.summary.text('config', f'```\n{config.to_json()}```')
        if samples is not None:
            write_samples()

    window, window_steps, window_seconds, timed_steps = {}, 0, 0.0, 0
    step_seconds = None  # Moving average of a step's wall time, for the rate and the ETA.
    first_step = True  # The first step of a process traces and compiles: not timed.
    skipped_in_a_row, eval_metrics, evaluated_at, saved_at = 0, {}, None, step
    stopped_by = None
    with progress.stop_on_signals() as stop:
        while step < config.train_steps and not stopped_by:
            started = time.perf_counter()
            outputs, any_stop = train_step(train_iterator,
                                           tf.constant(int(stop['signal'] is not None)))
            metrics = {name: float(value) for name, value in outputs.items()}
            seconds = time.perf_counter() - started
            step += 1
            if int(any_stop):
                stopped_by = stop['signal'] or 'a stop request on another worker'
            skipped_in_a_row = _check_finite(metrics, step, skipped_in_a_row, loss_scaled,
                                             manager.latest_checkpoint, loss_limit)
            if not first_step:
                window_seconds += seconds
                timed_steps += 1
                step_seconds = seconds if step_seconds is None else (
                    0.9 * step_seconds + 0.1 * seconds)
            first_step = False
            window_steps += 1
            for name, value in metrics.items():
                window[name] = window.get(name, 0.0) + value
            bar.update(step, metrics, config.batch_size / step_seconds if step_seconds else 0.0,
                       step_seconds * (config.train_steps - step) if step_seconds else None)

            if step % config.log_every == 0 or step == config.train_steps:
                with train_writer.as_default(step=step):
                    for name, total in window.items():
                        tf.summary.scalar(name, total / window_steps)
                    tf.summary.scalar('learning_rate',
                                      train_step_lib.learning_rate_at(step - 1, config))
                    if timed_steps:
                        tf.summary.scalar('images_per_second',
                                          config.batch_size * timed_steps / window_seconds)
                window, window_steps, window_seconds, timed_steps = {}, 0, 0.0, 0
            if samples is not None and step % config.sample_every == 0:
                write_samples()
            # Save before evaluating: an evaluation that fails never costs the step's work.
            if step % config.checkpoint_every == 0:
                save()
                saved_at = step
            if step % config.eval_every == 0:
                eval_metrics, evaluated_at = run_eval(), step

        if stopped_by:
            bar.log(f'{stopped_by} received at step {step}: saving a checkpoint and stopping; '
                    f'run the same command again to resume.')
        if saved_at != step:
            save()
        if not stopped_by and evaluated_at != step:
            if samples is not None and step % config.sample_every:
                write_samples()
            eval_metrics = run_eval()
    bar.close()
    train_writer.flush()
    eval_writer.flush()
    return {'step': step, 'stopped_by': stopped_by, **eval_metrics}
