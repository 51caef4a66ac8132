"""The pix2pix training step and the explicit training loop (summaries, evaluation, checkpoints).

The step follows the TF pix2pix tutorial's single-tape form: one generator forward, the
discriminator on the real and the generated pair, then both nets updated from the same forward
pass (the PyTorch reference updates D first and runs D once more for G's loss; the single pass
saves a third of the discriminator's work per step). Losses are averaged over the global batch,
so the same code is correct under any tf.distribute strategy.
"""

import dataclasses
import os
import time

import keras
import numpy as np
import tensorflow as tf

from pix2pix_tf import checkpoints
from pix2pix_tf import config as config_lib
from pix2pix_tf import evaluation
from pix2pix_tf import input_pipeline
from pix2pix_tf import losses
from pix2pix_tf import models
from pix2pix_tf import precision
from pix2pix_tf import progress

# Losses that stop training when they are not finite.
WATCHED_LOSSES = ('generator/total_loss', 'discriminator/real_loss', 'discriminator/fake_loss')
# Under float16 loss scaling a non-finite step is skipped by the optimizer (weights untouched);
# only this many in a row stop training.
MAX_SKIPPED_STEPS = 10


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the message names the step and what to do."""


@dataclasses.dataclass
class TrainState:
    """Everything a checkpoint holds besides the input iterator."""

    step: tf.Variable  # int64: steps completed; keyed by it: summaries, checkpoints, the lr.
    generator: keras.Model
    discriminator: keras.Model
    generator_optimizer: keras.optimizers.Optimizer
    discriminator_optimizer: keras.optimizers.Optimizer


def learning_rate_at(step, config: config_lib.Config) -> tf.Tensor:
    """Learning rate for the update made at `step` (0-based): constant, then linear to zero.

    Over the last `lr_decay_steps` steps (at most all of them) the rate falls linearly, as the
    reference's 'linear' policy, and reaches lr / lr_decay_steps at the last step (never zero).
    """
    learning_rate = tf.constant(config.learning_rate, tf.float32)
    decay_steps = min(config.lr_decay_steps, config.train_steps)
    if not decay_steps:
        return learning_rate
    remaining = tf.cast(config.train_steps - tf.cast(step, tf.int64), tf.float32)
    return learning_rate * tf.clip_by_value(remaining / decay_steps, 0.0, 1.0)


def create_state(config: config_lib.Config, policy: str) -> TrainState:
    """Models and built optimizers (call under the strategy's scope and the dtype policy)."""
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name='step')
    generator, discriminator = models.build_models(config)

    def learning_rate():
        return learning_rate_at(step, config)

    optimizers = []
    for model in (generator, discriminator):
        optimizer = precision.make_optimizer(learning_rate, config, policy)
        # Built now, so a checkpoint restores the slots instead of deferring them.
        optimizer.build(model.trainable_variables)
        optimizers.append(optimizer)
    return TrainState(step, generator, discriminator, *optimizers)


def make_train_step(state: TrainState, config: config_lib.Config, strategy):
    """A tf.function `train_step(iterator) -> metrics` that runs one step on every replica.

    Metrics are float32 scalars averaged over the global batch: the losses and discriminator
    accuracies (share of patches classified right), plus each optimizer's loss scale under
    float16. With `config.jit_compile` the forward and backward pass are compiled by XLA; the
    optimizer update (which may need cross-replica communication) stays outside XLA.
    """
    generator, discriminator = state.generator, state.discriminator
    generator_optimizer = state.generator_optimizer
    discriminator_optimizer = state.discriminator_optimizer
    loss_scaled = precision.uses_loss_scaling(generator_optimizer)

    def average(per_example):
        # Sum over this replica's examples / the global batch: summed across replicas, this is
        # the mean over the global batch (what tf.nn.compute_average_loss does, minus its
        # runtime asserts, which XLA can only ignore noisily).
        return tf.reduce_sum(per_example) / config.batch_size

    @tf.function(jit_compile=config.jit_compile)
    def compute_gradients(batch):
        sketch, photo = batch['sketch'], batch['photo']
        with tf.GradientTape(persistent=True) as tape:
            generated_photo = generator(sketch, training=True)
            real_logits = discriminator([sketch, photo], training=True)
            fake_logits = discriminator([sketch, generated_photo], training=True)
            gan_loss = losses.generator_gan_loss(fake_logits)
            l1_loss = losses.l1_loss(photo, generated_photo)
            real_loss = losses.discriminator_real_loss(real_logits)
            fake_loss = losses.discriminator_fake_loss(fake_logits)
            generator_loss = average(gan_loss + config.l1_weight * l1_loss)
            discriminator_loss = average(0.5 * (real_loss + fake_loss))
            if loss_scaled:
                generator_loss = generator_optimizer.scale_loss(generator_loss)
                discriminator_loss = discriminator_optimizer.scale_loss(discriminator_loss)
        # Each net's gradient is taken w.r.t. its own variables only, so D's loss never pushes
        # G and G's loss never pushes D (no `trainable` toggling: that would switch BatchNorm).
        generator_gradients = tape.gradient(generator_loss, generator.trainable_variables)
        discriminator_gradients = tape.gradient(discriminator_loss,
                                                discriminator.trainable_variables)
        metrics = {
            'generator/gan_loss': average(gan_loss),
            'generator/l1_loss': average(l1_loss),
            'generator/total_loss': average(gan_loss + config.l1_weight * l1_loss),
            'discriminator/real_loss': average(real_loss),
            'discriminator/fake_loss': average(fake_loss),
            'discriminator/real_accuracy': average(losses.real_accuracy(real_logits)),
            'discriminator/fake_accuracy': average(losses.fake_accuracy(fake_logits)),
        }
        return generator_gradients, discriminator_gradients, metrics

    def replica_step(batch):
        generator_gradients, discriminator_gradients, metrics = compute_gradients(batch)
        generator_optimizer.apply(generator_gradients, generator.trainable_variables)
        discriminator_optimizer.apply(discriminator_gradients, discriminator.trainable_variables)
        return metrics

    @tf.function
    def train_step(iterator):
        per_replica = strategy.run(replica_step, args=(next(iterator),))
        metrics = {name: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                   for name, value in per_replica.items()}
        if loss_scaled:
            metrics['generator/loss_scale'] = tf.identity(generator_optimizer.dynamic_scale)
            metrics['discriminator/loss_scale'] = tf.identity(
                discriminator_optimizer.dynamic_scale)
        state.step.assign_add(1)
        return metrics

    return train_step


def _check_finite(metrics: dict, step: int, skipped_in_a_row: int, loss_scaled: bool,
                  last_checkpoint: str | None) -> int:
    """Returns the new count of non-finite steps in a row; raises NonFiniteLossError to stop."""
    bad = [name for name in WATCHED_LOSSES if not np.isfinite(metrics[name])]
    if not bad:
        return 0
    skipped_in_a_row += 1
    if loss_scaled and skipped_in_a_row < MAX_SKIPPED_STEPS:
        return skipped_in_a_row  # The loss scaler skipped this update; give it another chance.
    kept = (f'the last good checkpoint {last_checkpoint} is untouched' if last_checkpoint
            else 'no checkpoint was written')
    raise NonFiniteLossError(
        f'training stopped at step {step}: {", ".join(bad)} = '
        f'{", ".join(str(metrics[name]) for name in bad)}; {kept}. Lower --learning_rate or '
        f'--l1_weight, or use --precision=float32.')


def _save(manager, state: TrainState, step: int) -> None:
    """Saves a checkpoint, unless a weight is not finite (then the last good one stays latest)."""
    for model in (state.generator, state.discriminator):
        if not all(bool(tf.reduce_all(tf.math.is_finite(tf.cast(variable, tf.float32))))
                   for variable in model.trainable_variables):
            raise NonFiniteLossError(
                f'training stopped at step {step}: {model.name} weights are not finite; the last '
                f'good checkpoint {manager.latest_checkpoint} is untouched. Lower '
                f'--learning_rate or use --precision=float32.')
    checkpoints.save(manager, step)


def train_and_evaluate(config: config_lib.Config, workdir: str) -> dict:
    """Trains (resuming from `workdir` when it has checkpoints) to `config.train_steps`.

    Writes `workdir/config.json`, checkpoints under `workdir/checkpoints`, TensorBoard events
    under `workdir/train` and `workdir/eval`. Returns the last step reached, whether a signal
    stopped it, and the final validation metrics.
    """
    policy = precision.resolve(config.precision)
    previous_policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        return _train(config, workdir, policy)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)


def _train(config: config_lib.Config, workdir: str, policy: str) -> dict:
    checkpoints.write_config(config, workdir)
    keras.utils.set_random_seed(config.seed)
    strategy = tf.distribute.get_strategy()
    with strategy.scope():
        state = create_state(config, policy)
    train_iterator = iter(input_pipeline.train_dataset(config))
    manager = checkpoints.make_manager(state, train_iterator, workdir, config.keep_checkpoints)
    bar = progress.Progress(config.train_steps, config.log_every)
    restored = checkpoints.restore_latest(manager)
    step = int(state.step.numpy())
    bar.log(f'{"Resuming from " + restored if restored else "Starting"} at step {step} of '
            f'{config.train_steps}; precision {policy}, batch {config.batch_size}, '
            f'{config.image_size}x{config.image_size}, workdir {workdir}')

    train_writer = tf.summary.create_file_writer(os.path.join(workdir, 'train'))
    eval_writer = tf.summary.create_file_writer(os.path.join(workdir, 'eval'))
    eval_step = evaluation.make_eval_step(state.generator, config.inference_mode)
    samples = None
    if config.num_samples:
        samples = next(iter(input_pipeline.eval_dataset(config, config.num_samples,
                                                        config.num_samples)))
    train_step = make_train_step(state, config, strategy)
    loss_scaled = precision.uses_loss_scaling(state.generator_optimizer)

    def write_samples():
        with eval_writer.as_default(step=step):
            tf.summary.image('samples', evaluation.sample_grid(eval_step, samples), max_outputs=1)

    def run_eval():
        dataset = input_pipeline.eval_dataset(config, config.batch_size, config.eval_examples)
        metrics = evaluation.evaluate(eval_step, dataset)
        with eval_writer.as_default(step=step):
            for name in evaluation.METRICS:
                tf.summary.scalar(f'metrics/{name}', metrics[name])
        bar.log(f'step {step}: validation L1 {metrics["l1"]:.4f}  PSNR {metrics["psnr"]:.2f} dB  '
                f'SSIM {metrics["ssim"]:.4f}  ({metrics["num_examples"]} pairs)')
        return metrics

    if step == 0:
        with train_writer.as_default(step=0):
            tf.summary.text('config', f'```\n{config.to_json()}```')
        if samples is not None:
            write_samples()

    window, window_steps, window_seconds, timed_steps = {}, 0, 0.0, 0
    step_seconds = None  # Moving average of a step's wall time, for the rate and the ETA.
    first_step = True  # The first step of a process traces and compiles: not timed.
    skipped_in_a_row, eval_metrics, evaluated_at, saved_at = 0, {}, None, step
    with progress.stop_on_signals() as stop:
        while step < config.train_steps and not stop['signal']:
            started = time.perf_counter()
            metrics = {name: float(value) for name, value in train_step(train_iterator).items()}
            seconds = time.perf_counter() - started
            step += 1
            skipped_in_a_row = _check_finite(metrics, step, skipped_in_a_row, loss_scaled,
                                             manager.latest_checkpoint)
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
                    tf.summary.scalar('learning_rate', learning_rate_at(step - 1, config))
                    if timed_steps:
                        tf.summary.scalar('images_per_second',
                                          config.batch_size * timed_steps / window_seconds)
                window, window_steps, window_seconds, timed_steps = {}, 0, 0.0, 0
            if samples is not None and step % config.sample_every == 0:
                write_samples()
            if step % config.eval_every == 0:
                eval_metrics, evaluated_at = run_eval(), step
            if step % config.checkpoint_every == 0:
                _save(manager, state, step)
                saved_at = step

        if stop['signal']:
            bar.log(f'{stop["signal"]} received at step {step}: saving a checkpoint and '
                    f'stopping; run the same command again to resume.')
        elif evaluated_at != step:
            if samples is not None and step % config.sample_every:
                write_samples()
            eval_metrics = run_eval()
        if saved_at != step:
            _save(manager, state, step)
    bar.close()
    train_writer.flush()
    eval_writer.flush()
    return {'step': step, 'stopped_by': stop['signal'], **eval_metrics}
