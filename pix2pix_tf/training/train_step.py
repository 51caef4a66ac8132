"""The pix2pix training step: state, learning-rate schedule, and one step on every replica.

Two update orders (`--update_order`):
- simultaneous (the TF pix2pix tutorial's single-tape form): one generator forward, the
  discriminator on the real and the generated pair, then both nets updated from the same
  forward pass; D runs twice per step.
- alternating (the PyTorch reference's): one generator forward, a D step on the real and the
  detached generated pair, then G's step with the *updated* D run once more on the generated
  pair; D runs three times per step.
Losses are averaged over the global batch, so the same code is correct under any tf.distribute
strategy. With `--ema_decay` the step also updates a moving average of the generator
(`pix2pix_tf/model/ema.py`). `--gan_loss` picks the adversarial terms
(`pix2pix_tf/model/losses.py`); `--diff_augment` transforms every pair the discriminator sees
(`pix2pix_tf/model/augment.py`), with a fresh draw per pair, per discriminator call, per step
and per replica (stateless: a function of the seed, the step and the replica).
`--feature_matching_weight` adds pix2pixHD's feature-matching term to G's loss: D runs as
`networks.discriminator_features` (the same layers, also returning its block activations), and
the generated pair goes through the same augmentation draw as the real one, so that their
features are compared position by position; in the alternating order G's step runs the updated
D on the real pair once more. With `--discriminator_scales` > 1 D's logits are a list (one map
per scale), which the losses average over. `--gradient_loss_weight` adds the gradient
difference loss (`losses.gradient_loss`) to G's; `--l1_pool` pools the photos for the L1 term.
D's optimizer follows the learning-rate schedule times `--discriminator_lr_scale` (TTUR).
"""

import dataclasses

import keras
import tensorflow as tf

from pix2pix_tf import config as config_lib
from pix2pix_tf.model import augment
from pix2pix_tf.model import ema
from pix2pix_tf.model import losses
from pix2pix_tf.model import networks
from pix2pix_tf.model import precision
from pix2pix_tf.training import distribute


@dataclasses.dataclass
class TrainState:
    """Everything a checkpoint holds besides the input iterator."""

    step: tf.Variable  # int64: steps completed; keyed by it: summaries, checkpoints, the lr.
    generator: keras.Model
    discriminator: keras.Model
    generator_optimizer: keras.optimizers.Optimizer
    discriminator_optimizer: keras.optimizers.Optimizer
    ema_generator: keras.Model | None = None  # With --ema_decay: the averaged generator.


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


def create_state(config: config_lib.Config, policy: str, fused_adam: bool = True,
                 fused_batch_norm: bool = True) -> TrainState:
    """Models and built optimizers (call under the strategy's scope and the dtype policy).

    `fused_adam=False` uses Keras's own Adam instead of precision.FusedAdam, and
    `fused_batch_norm=False` Keras's own BatchNormalization (benchmarks).
    """
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name='step')
    generator, discriminator = networks.build_models(config, fused_batch_norm)

    optimizers = []
    for model, scale in ((generator, 1.0), (discriminator, config.discriminator_lr_scale)):
        optimizer = precision.make_optimizer(
            lambda scale=scale: learning_rate_at(step, config) * scale, config, policy,
            fused_adam)
        # Built now, so a checkpoint restores the slots instead of deferring them.
        optimizer.build(model.trainable_variables)
        optimizers.append(optimizer)
    ema_generator = None
    if config.ema_decay:
        ema_generator = networks.generator_for(config, fused_batch_norm)
        ema.copy_weights(generator, ema_generator)
    return TrainState(step, generator, discriminator, *optimizers, ema_generator)


def _skip_together(gradients: list) -> list:
    """Makes every replica's gradients non-finite when any replica's are.

    Keras 3's LossScaleOptimizer, under a strategy, decides from the first replica's gradients
    whether to apply or skip a step (it assumes they were all-reduced, which they are not in a
    custom loop); an overflow on another replica would then reach the weights as NaN. One
    scalar all-reduce makes the decision unanimous; finite gradients are multiplied by 1.0,
    bit for bit unchanged.
    """
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in gradients])
    replicas_with_overflow = tf.distribute.get_replica_context().all_reduce(
        tf.distribute.ReduceOp.SUM, tf.cast(tf.logical_not(finite), tf.float32))
    factor = tf.where(replicas_with_overflow > 0, float('nan'), 1.0)
    return [g * tf.cast(factor, g.dtype) for g in gradients]


def make_train_step(state: TrainState, config: config_lib.Config, strategy):
    """A tf.function `train_step(iterator, stop) -> (metrics, stop)`: one step on every replica.

    `iterator` yields this worker's slice of the global batch; `stop` (int32, 1 when this
    process was asked to stop) comes back summed over all replicas, so every worker stops
    after the same step. Metrics are float32 scalars averaged over the global batch: the
    losses and discriminator accuracies (share of patches classified right), plus each
    optimizer's loss scale under float16. With `config.jit_compile` the forward and backward
    pass are compiled by XLA; the optimizer update (which may need cross-replica
    communication) stays outside XLA.
    """
    generator, discriminator = state.generator, state.discriminator
    generator_optimizer = state.generator_optimizer
    discriminator_optimizer = state.discriminator_optimizer
    loss_scaled = precision.uses_loss_scaling(generator_optimizer)
    gan_loss = config.gan_loss
    policy = config_lib.diff_augment_policy(config.diff_augment)
    base_seed = tf.constant([config.seed, 20201218], tf.int64)  # DiffAugment's arXiv date.
    matching_weight = config.feature_matching_weight
    critic = networks.discriminator_features(discriminator) if matching_weight else None
    scales = networks.discriminator_scales(discriminator)  # Logits: a list when > 1.
    fake_call = 0 if matching_weight else 1  # Matched features need the real pair's draw.

    def augmentation_seed():
        """A stateless seed for this step on this replica (int64 [2])."""
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        step_seed = tf.random.experimental.stateless_fold_in(base_seed, state.step)
        return tf.random.experimental.stateless_fold_in(step_seed, tf.cast(replica, tf.int64))

    def judged(sketch, photo, seed, call: int):
        """(logits, D's block activations or None) on (sketch, photo), through this call's
        augmentation; the activations only with feature matching."""
        sketch, photo = augment.augment_pair(
            sketch, photo, policy, tf.random.experimental.stateless_fold_in(seed, call))
        if critic is None:
            return discriminator([sketch, photo], training=True), None
        outputs = critic([sketch, photo], training=True)
        features, logits = outputs[:-scales], outputs[-scales:]
        return (logits if scales > 1 else logits[0]), features

    def generator_objective(fake_logits, photo, generated_photo, real_features,
                            fake_features, real_logits):
        terms = losses.generator_loss(fake_logits, photo, generated_photo, config.l1_weight,
                                      gan_loss, config.gradient_loss_weight, real_logits,
                                      config.l1_pool)
        if matching_weight:
            matching = losses.feature_matching_loss(real_features, fake_features)
            terms['feature_matching_loss'] = matching
            terms['total_loss'] = terms['total_loss'] + matching_weight * matching
        return terms

    def average(per_example):
        # Sum over this replica's examples / the global batch: summed across replicas, the mean
        # over the global batch (see the losses module docstring).
        return tf.reduce_sum(per_example) / config.batch_size

    def scaled(loss, optimizer):
        return optimizer.scale_loss(loss) if loss_scaled else loss

    def metrics_of(generator_terms, discriminator_terms, real_logits, fake_logits):
        return {
            **{f'generator/{name}': average(value) for name, value in generator_terms.items()},
            'discriminator/real_loss': average(discriminator_terms['real_loss']),
            'discriminator/fake_loss': average(discriminator_terms['fake_loss']),
            'discriminator/real_accuracy': average(
                losses.real_accuracy(real_logits, gan_loss, fake_logits=fake_logits)),
            'discriminator/fake_accuracy': average(
                losses.fake_accuracy(fake_logits, gan_loss, real_logits=real_logits)),
        }

    def agree(gradients):  # Under float16 with several replicas: skip a step everywhere.
        if loss_scaled and strategy.num_replicas_in_sync > 1:
            return _skip_together(gradients)
        return gradients

    def compute_gradients(batch, seed):
        sketch, photo = batch['sketch'], batch['photo']
        with tf.GradientTape(persistent=True) as tape:
            generated_photo = generator(sketch, training=True)
            real_logits, real_features = judged(sketch, photo, seed, 0)
            fake_logits, fake_features = judged(sketch, generated_photo, seed, fake_call)
            generator_terms = generator_objective(fake_logits, photo, generated_photo,
                                                  real_features, fake_features, real_logits)
            discriminator_terms = losses.discriminator_loss(real_logits, fake_logits, gan_loss)
            generator_loss = scaled(average(generator_terms['total_loss']), generator_optimizer)
            discriminator_loss = scaled(average(discriminator_terms['total_loss']),
                                        discriminator_optimizer)
        # Each net's gradient is taken w.r.t. its own variables only, so D's loss never pushes
        # G and G's loss never pushes D (no `trainable` toggling: that would switch BatchNorm).
        generator_gradients = tape.gradient(generator_loss, generator.trainable_variables)
        discriminator_gradients = tape.gradient(discriminator_loss,
                                                discriminator.trainable_variables)
        return generator_gradients, discriminator_gradients, metrics_of(
            generator_terms, discriminator_terms, real_logits, fake_logits)

    if config.jit_compile:
        # A nested tf.function, so XLA compiles just this part. (Not with synchronized batch
        # norm: its cross-replica all-reduce cannot run inside a nested function.)
        compute_gradients = tf.function(compute_gradients, jit_compile=True)

    def simultaneous_step(batch):
        generator_gradients, discriminator_gradients, metrics = compute_gradients(
            batch, augmentation_seed())
        generator_optimizer.apply(agree(generator_gradients), generator.trainable_variables)
        discriminator_optimizer.apply(agree(discriminator_gradients),
                                      discriminator.trainable_variables)
        return metrics

    def alternating_step(batch):
        sketch, photo = batch['sketch'], batch['photo']
        seed = augmentation_seed()
        with tf.GradientTape() as generator_tape:
            generated_photo = generator(sketch, training=True)
        with tf.GradientTape() as discriminator_tape:
            real_logits, _ = judged(sketch, photo, seed, 0)
            detached_logits, _ = judged(sketch, tf.stop_gradient(generated_photo), seed, 1)
            discriminator_terms = losses.discriminator_loss(real_logits, detached_logits,
                                                            gan_loss)
            discriminator_loss = scaled(average(discriminator_terms['total_loss']),
                                        discriminator_optimizer)
        discriminator_optimizer.apply(
            agree(discriminator_tape.gradient(discriminator_loss,
                                              discriminator.trainable_variables)),
            discriminator.trainable_variables)
        with generator_tape:  # Recording resumes: G's loss through the updated D.
            fake_logits, fake_features = judged(sketch, generated_photo, seed, 2)
            # The real pair through the updated D, as matching and the relativistic loss read.
            real_now, real_features = (judged(sketch, photo, seed, 2) if matching_weight or
                                       gan_loss == 'relativistic' else (None, None))
            generator_terms = generator_objective(fake_logits, photo, generated_photo,
                                                  real_features, fake_features, real_now)
            generator_loss = scaled(average(generator_terms['total_loss']), generator_optimizer)
        generator_optimizer.apply(
            agree(generator_tape.gradient(generator_loss, generator.trainable_variables)),
            generator.trainable_variables)
        return metrics_of(generator_terms, discriminator_terms, real_logits, detached_logits)

    update = alternating_step if config.update_order == 'alternating' else simultaneous_step

    def replica_step(batch, stop):
        return update(batch), tf.identity(stop)  # A per-replica value, so it can be reduced.

    local_replicas = distribute.replicas_per_worker(strategy)
    ema_pairs = (ema.averaged_weights(generator, state.ema_generator)
                 if state.ema_generator is not None else [])

    @tf.function
    def train_step(iterator, stop):
        batch = next(iterator)  # This worker's slice of the global batch.

        def replica_batch(context):  # Then each local replica's slice of that.
            index = context.replica_id_in_sync_group % local_replicas
            return tf.nest.map_structure(lambda t: tf.split(t, local_replicas)[index], batch)

        per_replica_batch = strategy.experimental_distribute_values_from_function(replica_batch)
        per_replica, stops = strategy.run(replica_step, args=(per_replica_batch, stop))
        metrics = {name: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                   for name, value in per_replica.items()}
        if loss_scaled:
            metrics['generator/loss_scale'] = tf.identity(generator_optimizer.dynamic_scale)
            metrics['discriminator/loss_scale'] = tf.identity(
                discriminator_optimizer.dynamic_scale)
        state.step.assign_add(1)
        if ema_pairs:  # Cross-replica context: every copy of a mirrored average alike.
            decay = ema.decay_at(state.step, config.ema_decay)
            for average_weight, weight in ema_pairs:
                ema.update_average(average_weight, weight, decay)
        # Any worker asked to stop (SIGTERM) -> all stop after this same step.
        return metrics, strategy.reduce(tf.distribute.ReduceOp.SUM, stops, axis=None)

    return train_step
