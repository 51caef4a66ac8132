"""The experiment configuration: one frozen dataclass, every hyperparameter in one place.

The train command (`pix2pix_tf/commands/train.py`) defines one absl flag per field (same name,
same default, the field's `help` as the flag's help) and builds a `Config` from them; tests
build `Config(...)` directly. Training writes `<workdir>/config.json`, and export and evaluation
rebuild the model from it.

This module imports no TensorFlow, so `train.py` can reject a bad flag in a fraction of a second,
before any TensorFlow graph is built.
"""

import dataclasses
import json
import math
import os

PRECISIONS = ('auto', 'float32', 'mixed_float16', 'mixed_bfloat16')
NORMS = ('batch', 'instance', 'layer')
UPSAMPLES = ('transpose', 'resize_output', 'resize')
INFERENCE_MODES = ('paper', 'eval')
KEEP_BEST = ('none', 'l1', 'ssim', 'fid')
STRATEGIES = ('auto', 'one_device', 'mirrored', 'multi_worker', 'tpu')
UPDATE_ORDERS = ('simultaneous', 'alternating')
GAN_LOSSES = ('vanilla', 'lsgan', 'hinge', 'relativistic')
DIFF_AUGMENT_POLICIES = ('color', 'softcolor', 'lightness', 'translation', 'cutout')
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 64, 512

CONFIG_FILE = 'config.json'  # In every training workdir.
# Largest sketch side (pixels) an exported SavedModel accepts unless export sets another.
DEFAULT_MAX_SKETCH_SIZE = 4096
TFLITE_NEEDS_EVAL_MODE = (
    '--format=tflite exports the eval inference mode only (paper mode runs each image with its '
    'own batch statistics); drop --inference_mode or export a SavedModel.')

# Fields that fix the saved weights' shapes: checkpoints cannot resume or export under others.
MODEL_FIELDS = ('image_size', 'norm', 'generator_filters', 'discriminator_filters',
                'spectral_norm', 'discriminator_scales', 'discriminator_layers', 'upsample')


class ConfigError(ValueError):
    """A configuration a user can fix; the message is one line that says how."""


def _field(default, help_text, choices=None):
    metadata = {'help': help_text}
    if choices:
        metadata['choices'] = choices
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class Config:
    """Every hyperparameter of a pix2pix experiment (defaults: the seed project and the paper)."""

    # Data.
    dataset: str = _field(
        'datasets/sample',
        'Training data: a folder of AB pairs (sketch left, photo right) or of sketches/ and '
        'photos/, with train/ and val/ subfolders; or a TFDS name such as sketch2photo/zappos '
        '(see pix2pix_tf/data/sources.py).')
    data_dir: str = _field('', 'TFDS data dir for a TFDS --dataset ("" = $TFDS_DATA_DIR or '
                           '~/tensorflow_datasets).')
    image_size: int = _field(256, 'Model input and output size in pixels; a power of two, 64-512.')
    load_size: int = _field(
        0, 'Size images are resized to before the random crop to image_size; '
        '0 = image_size * 286 / 256, the paper\'s jitter.')
    flip: bool = _field(True, 'Random horizontal flip of training pairs (sketch and photo '
                        'together).')
    stroke_jitter: float = _field(0.0, 'Probability that a training sketch\'s strokes are '
                                  'thickened (3x3 or 5x5) or thinned, and (half as often) broken.')
    cache_mb: int = _field(
        1024, 'Keep the training split decoded and resized in memory when it fits in this many '
        'MB (load_size^2 x 16 bytes a pair), so each step only crops, flips and jitters; '
        '0 = decode every image each time.')
    shuffle_buffer: int = _field(1000, 'Shuffle buffer of encoded TFDS training records '
                                 '(folders shuffle their whole file list).')

    # Model.
    norm: str = _field('batch', 'Normalization in both nets: batch (the paper), instance, or '
                       'layer (per image over all channels: keeps the channel statistics).', NORMS)
    generator_filters: int = _field(64, 'Filters of the first U-Net block (ngf).')
    discriminator_filters: int = _field(64, 'Filters of the first PatchGAN block (ndf).')
    dropout_rate: float = _field(0.5, 'Dropout in the inner 512-filter U-Net decoder blocks.')
    upsample: str = _field('transpose', 'Decoder upsampling: transpose (the paper\'s), or nearest '
                           'x2 + 3x3 conv in the output (resize_output) or every block (resize).',
                           UPSAMPLES)
    spectral_norm: bool = _field(
        False, 'Spectral normalisation of every discriminator convolution (Miyato et al. 2018).')
    discriminator_scales: int = _field(
        1, 'PatchGANs at 1, 1/2, 1/4, ... of the image size, their adversarial losses averaged '
        '(pix2pixHD\'s multi-scale D, Wang et al. 2018: 2 or 3 there); 1 = the paper\'s one.')
    discriminator_layers: int = _field(
        3, 'Stride-2 convolutions of the PatchGAN (the reference\'s n_layers_D): 3 = the paper\'s '
        '70x70 patches, 2 = 34x34, 1 = 16x16, 4 = 142x142.')

    # Loss and optimizer.
    l1_weight: float = _field(100.0, 'Weight of the L1 term in the generator loss (lambda).')
    l1_pool: int = _field(1, 'L1 term between the photos average-pooled on blocks this many '
                          'pixels square (a power of two), finer detail left to the GAN term.')
    feature_matching_weight: float = _field(
        0.0, 'Weight of the discriminator feature-matching term in the generator loss (pix2pixHD: '
        'L1 between D\'s features of the real and the generated pair; 10 there). 0 = off.')
    gradient_loss_weight: float = _field(
        0.0, 'Weight of the gradient difference loss in the generator loss (Mathieu et al. 2016: '
        'L1 between neighbouring-pixel difference magnitudes, generated vs real). 0 = off.')
    learning_rate: float = _field(5e-5, 'Adam learning rate of both nets.')
    discriminator_lr_scale: float = _field(
        1.0, 'The discriminator\'s learning rate as a multiple of --learning_rate (TTUR, Heusel '
        'et al. 2017: e.g. 3); 1 = the same rate, as the paper.')
    beta_1: float = _field(0.5, 'Adam beta_1 of both nets.')
    beta_2: float = _field(0.999, 'Adam beta_2 of both nets.')
    lr_decay_steps: int = _field(
        0, 'Decay the learning rate linearly to zero over the last this many steps (0 = constant; '
        'capped at --train_steps).')
    gan_loss: str = _field(
        'vanilla', 'Adversarial loss: vanilla (the paper\'s BCE with logits), lsgan (least '
        'squares), hinge or relativistic (ESRGAN\'s relativistic average BCE).', GAN_LOSSES)
    diff_augment: str = _field(
        '', 'Differentiable augmentation of every pair the discriminator sees, real and generated '
        '(Zhao et al. 2020): a comma-separated list of color, softcolor (color with quarter-wide '
        'ranges), lightness (color without saturation), translation, cutout, each optionally '
        ':<p> (the share of pairs it transforms, 0 < p <= 1, default 1) ("" = none).')
    update_order: str = _field(
        'simultaneous', 'simultaneous = both nets updated from one forward pass (one tape); '
        'alternating = the reference\'s D step, then G step with D run again.', UPDATE_ORDERS)
    ema_decay: float = _field(
        0.0, 'Keep an exponential moving average of the generator\'s weights and batch-norm '
        'statistics with this decay (e.g. 0.999); evaluation, evaluate.py and export.py then '
        'use it. 0 = off.')

    # Training loop.
    batch_size: int = _field(4, 'Global batch size.')
    train_steps: int = _field(100_000, 'Total training steps (a resumed run continues to this).')
    precision: str = _field(
        'auto', 'auto = mixed_float16 on a GPU, mixed_bfloat16 on a CPU with native bfloat16 '
        '(AVX512-BF16/AMX), else float32.', PRECISIONS)
    jit_compile: bool = _field(False, 'Compile the train step with XLA.')
    strategy: str = _field(
        'auto', 'tf.distribute strategy: auto = mirrored with several GPUs, else one_device; '
        'multi_worker reads TF_CONFIG; tpu uses --tpu.', STRATEGIES)
    tpu: str = _field('', 'TPU name or grpc:// address for --strategy=tpu ("" = local TPU VM).')
    sync_batch_norm: bool = _field(False, 'With --norm=batch and several replicas: batch '
                                   'statistics over the global batch, not each replica\'s slice.')
    seed: int = _field(0, 'Seed of weights, dropout, shuffling and jitter.')

    # Checkpoints, summaries, evaluation.
    checkpoint_every: int = _field(1000, 'Save a checkpoint every this many steps.')
    keep_checkpoints: int = _field(3, 'How many recent checkpoints to keep.')
    log_every: int = _field(100, 'Write train scalars (and a log line when not on a terminal) '
                            'every this many steps.')
    eval_every: int = _field(1000, 'Validation metrics (L1, PSNR, SSIM) every this many steps.')
    eval_examples: int = _field(200, 'Validation pairs scored per evaluation (0 = whole split).')
    sample_every: int = _field(1000, 'Sample grid (sketch | generated | photo) every this many '
                               'steps.')
    num_samples: int = _field(6, 'Validation pairs in the sample grid.')
    keep_best: str = _field('none', 'Also keep the checkpoint with the best validation metric '
                            '(l1, ssim or fid) in <workdir>/best.', KEEP_BEST)
    inception_weights: str = _field('', 'InceptionV3 no-top weights (.h5) for FID/KID at '
                                    'evaluation; needed by --keep_best=fid.')
    inference_mode: str = _field(
        'paper', 'Generator at evaluation: paper = dropout and batch statistics on (Isola et al.), '
        'eval = dropout off and moving statistics.', INFERENCE_MODES)

    def __post_init__(self):
        # Paths as they resolve from anywhere: `~` expanded (bash leaves it alone after `=`),
        # a folder --dataset made absolute, so config.json works from any directory.
        dataset = os.path.expanduser(self.dataset)
        object.__setattr__(self, 'dataset',
                           os.path.abspath(dataset) if os.path.isdir(dataset) else dataset)
        for name in ('data_dir', 'inception_weights'):
            if getattr(self, name):
                object.__setattr__(self, name,
                                   os.path.abspath(os.path.expanduser(getattr(self, name))))
        _validate(self)

    @property
    def resolved_load_size(self) -> int:
        """`load_size`, with 0 replaced by the paper's 286/256 ratio."""
        return self.load_size or round(self.image_size * 286 / 256)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + '\n'

    @classmethod
    def from_json(cls, text: str) -> 'Config':
        values = json.loads(text)
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})


def _validate(config: Config) -> None:
    """Raises ConfigError with a one-line, actionable message for values no run can use."""

    def fail(message):
        raise ConfigError(message)

    for field in dataclasses.fields(config):
        choices = field.metadata.get('choices')
        value = getattr(config, field.name)
        if choices and value not in choices:
            fail(f'--{field.name}={value} is not one of {", ".join(choices)}.')
    size = config.image_size
    if not (MIN_IMAGE_SIZE <= size <= MAX_IMAGE_SIZE and size & (size - 1) == 0):
        fail(f'--image_size={size} must be a power of two from {MIN_IMAGE_SIZE} to '
             f'{MAX_IMAGE_SIZE} (the U-Net halves it down to 1x1).')
    if config.discriminator_layers not in (1, 2, 3, 4):
        fail(f'--discriminator_layers={config.discriminator_layers} must be 1, 2, 3 (the '
             f'paper\'s 70x70 PatchGAN) or 4.')
    smallest = 4 << config.discriminator_layers  # networks.min_discriminator_input (no TF here).
    if config.discriminator_scales < 1 or size >> (config.discriminator_scales - 1) < smallest:
        most = int(math.log2(size // smallest)) + 1
        fail(f'--discriminator_scales={config.discriminator_scales} needs an --image_size of at '
             f'least {smallest} * 2^(scales - 1) (the coarsest PatchGAN sees image_size / '
             f'2^(scales - 1) pixels); use 1 to {most} at --image_size={size}.')
    if not (1 <= config.l1_pool <= size // 8 and config.l1_pool & (config.l1_pool - 1) == 0):
        fail(f'--l1_pool={config.l1_pool} must be a power of two from 1 (per pixel) to '
             f'{size // 8} at --image_size={size}.')
    if config.load_size and config.load_size < size:
        fail(f'--load_size={config.load_size} is smaller than --image_size={size}; the random '
             f'crop needs load_size >= image_size (or 0 for the default).')
    if config.keep_best == 'fid' and not config.inception_weights:
        fail('--keep_best=fid needs --inception_weights=<InceptionV3 .h5 file> to compute FID.')
    if config.update_order == 'alternating' and config.jit_compile:
        fail('--update_order=alternating cannot be combined with --jit_compile: its D update '
             'sits between G\'s forward and backward pass; use --update_order=simultaneous.')
    if not 0 <= config.ema_decay < 1:
        fail(f'--ema_decay={config.ema_decay} must be in [0, 1) (0 = off; 0.999 is typical).')
    diff_augment_policy(config.diff_augment)
    if not 0 <= config.stroke_jitter <= 1:
        fail(f'--stroke_jitter={config.stroke_jitter} must be a probability in [0, 1].')
    if config.sync_batch_norm and config.jit_compile:
        fail('--sync_batch_norm cannot be combined with --jit_compile: the cross-replica '
             'all-reduce of synchronized batch norm cannot run inside the XLA-compiled part.')
    for name in ('learning_rate', 'l1_weight', 'feature_matching_weight', 'gradient_loss_weight',
                 'discriminator_lr_scale'):
        if not math.isfinite(getattr(config, name)) or getattr(config, name) < 0:
            fail(f'--{name}={getattr(config, name)} must be a finite number >= 0.')
    for name, example in (('learning_rate', '2e-4'), ('discriminator_lr_scale', '1')):
        if getattr(config, name) == 0:
            fail(f'--{name}=0 would never train; use a positive value such as {example}.')
    for name in ('beta_1', 'beta_2'):
        if not 0 <= getattr(config, name) < 1:
            fail(f'--{name}={getattr(config, name)} must be in [0, 1).')
    if not 0 <= config.dropout_rate < 1:
        fail(f'--dropout_rate={config.dropout_rate} must be in [0, 1).')
    for name in ('batch_size', 'train_steps', 'checkpoint_every', 'keep_checkpoints', 'log_every',
                 'eval_every', 'sample_every', 'generator_filters', 'discriminator_filters'):
        if getattr(config, name) < 1:
            fail(f'--{name}={getattr(config, name)} must be at least 1.')
    for name in ('lr_decay_steps', 'eval_examples', 'num_samples', 'shuffle_buffer', 'load_size',
                 'cache_mb'):
        if getattr(config, name) < 0:
            fail(f'--{name}={getattr(config, name)} must be 0 or more.')


def diff_augment_policy(text: str) -> tuple[str, ...]:
    """--diff_augment's parts in order ('color:0.5, cutout' -> ('color:0.5', 'cutout')); a part
    may end in ':<probability>' (0 < p <= 1; default 1), the share of pairs it transforms.
    ConfigError naming an unknown or repeated part or a bad probability."""
    parts = tuple(part.strip() for part in text.split(',') if part.strip())
    names = [part.partition(':')[0].strip() for part in parts]
    for part, name in zip(parts, names):
        if name not in DIFF_AUGMENT_POLICIES or names.count(name) > 1:
            raise ConfigError(f'--diff_augment={text}: {part!r} is unknown or repeated; use a '
                              f'comma-separated list of {", ".join(DIFF_AUGMENT_POLICIES)}, '
                              f'each optionally with :<probability> (or "" for none).')
        if ':' in part:
            try:
                probability = float(part.partition(':')[2])
            except ValueError:
                probability = math.nan
            if not 0 < probability <= 1:
                raise ConfigError(f'--diff_augment={text}: {part!r} needs a probability in '
                                  f'(0, 1] after the colon, e.g. {name}:0.5.')
    return parts


def read_workdir_config(workdir: str) -> Config:
    """The Config a training workdir was made with; ConfigError when it has none."""
    path = os.path.join(workdir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise ConfigError(f'{path} not found: --workdir must be a training workdir (made by '
                          f'train.py).')
    with open(path) as file:
        return Config.from_json(file.read())


def check_workdir(config: Config, workdir: str) -> None:
    """Raises ConfigError when `workdir` holds a run whose model `config` cannot resume."""
    if os.path.isfile(os.path.join(workdir, CONFIG_FILE)):
        check_compatible(read_workdir_config(workdir), config, workdir)


def check_compatible(saved: Config, config: Config, workdir: str) -> None:
    """Raises ConfigError when `config` cannot resume the checkpoints trained with `saved`."""
    for name in MODEL_FIELDS:
        if getattr(saved, name) != getattr(config, name):
            raise ConfigError(
                f'{workdir} was trained with --{name}={getattr(saved, name)}, not '
                f'{getattr(config, name)}: pass the same value or use a new --workdir.')
