"""The `evaluate.py` / `pix2pix-evaluate` command: score a model, write a report.

    python evaluate.py --workdir=runs/sample                           # its validation split
    python evaluate.py --workdir=runs/sample --all_checkpoints         # a row per checkpoint
    python evaluate.py --model=saved_models/sample --pairs='held_out/*.jpg'
    python evaluate.py --workdir=runs/zappos --dataset=sketch2photo/zappos --split=test \\
        --inception_weights=inception_v3_notop.h5                      # adds FID and KID
    python evaluate.py --workdir=runs/cpu --thicken_strokes=5          # sketches of a wide pen

Model: a training workdir (latest checkpoint, --checkpoint_step, or --all_checkpoints) or an
exported SavedModel (--model: a version folder, or a folder of versions: the highest). Data:
the workdir's own validation split by default, or --dataset (a TFDS name, or a folder as
train.py takes) with --split, or --pairs (a folder or glob of AB pairs), or --sketches and
--photos (two folders, files matched by name). Writes metrics.json,
index.html and images/ to --output_dir, prints the table, and for a workdir also writes the
scalars to <workdir>/eval (tags evaluate/<metric>) at each checkpoint's step.
"""

import os
import sys
import time
from typing import NamedTuple

from absl import flags
from absl import logging

from pix2pix_tf import config as config_lib  # No TensorFlow here: errors come fast.
from pix2pix_tf.commands import cli
from pix2pix_tf.data import image_files
from pix2pix_tf.data import sources
from pix2pix_tf.evaluation import gan_metrics
from pix2pix_tf.serving import client

FLAGS = flags.FLAGS


def define_flags(flag_values: flags.FlagValues = FLAGS) -> None:
    """The evaluate command's flags (--saved_model: the old name of --model)."""
    options = {'flag_values': flag_values}
    flags.DEFINE_string('workdir', None, 'Training workdir to score (config.json + '
                        'checkpoints/).', **options)
    cli.define_model_flags(flag_values, server=False)  # Instead of --workdir.
    cli.define_renamed(flag_values, 'saved_model')
    flags.DEFINE_integer('checkpoint_step', None, 'Score this checkpoint (default: the latest).',
                         **options)
    flags.DEFINE_bool('all_checkpoints', False, 'Score every kept checkpoint: a row per step.',
                      **options)
    flags.DEFINE_string('dataset', None, 'TFDS name or training-style folder (default: the '
                        'workdir\'s dataset).', **options)
    flags.DEFINE_string('data_dir', None, 'TFDS data dir (default: the workdir\'s).', **options)
    flags.DEFINE_enum('split', 'eval', ('eval', 'test', 'train'), 'Split of --dataset: eval = '
                      'validation (val/ for folders).', **options)
    flags.DEFINE_string('pairs', None, 'A folder or glob pattern of AB pair files (sketch '
                        'left).', **options)
    flags.DEFINE_string('exclude', None, 'Skip --pairs files whose names occur in this folder '
                        'tree (for example the pairs a model was trained on).', **options)
    flags.DEFINE_string('sketches', None, 'A folder of sketches (with --photos, matched by '
                        'name).', **options)
    flags.DEFINE_string('photos', None, 'A folder of the matching photos.', **options)
    flags.DEFINE_integer('num_examples', 0, 'Score the first this many pairs (0 = all).',
                         **options)
    flags.DEFINE_integer('batch_size', 8, 'Pairs per batch.', **options)
    flags.DEFINE_enum('inference_mode', None, config_lib.INFERENCE_MODES,
                      'Workdir models: paper (dropout and batch statistics on) or eval; default: '
                      'the training config\'s. (A SavedModel keeps the mode it was exported '
                      'with.)', **options)
    flags.DEFINE_string('inception_weights', None, 'InceptionV3 no-top weights (.h5): adds FID '
                        'and KID.', **options)
    flags.DEFINE_string('output_dir', None, 'Where the report goes (default: '
                        '<workdir>/evaluation or evaluation/<model name>).', **options)
    flags.DEFINE_integer('report_examples', 12, 'Examples shown in index.html.', **options)
    flags.DEFINE_integer('thicken_strokes', 0, 'Dilate every sketch\'s dark strokes by a KxK '
                         'square at the model\'s size before scoring (5 = a wide pen; 0 = as '
                         'drawn).', **options)
    flags.DEFINE_bool('raw_weights', False, 'A workdir trained with --ema_decay: score the '
                      'trained generator instead of its moving average.', **options)


class ScoredModel(NamedTuple):
    """One model to score: a checkpoint of the workdir or the SavedModel."""

    name: str  # 'step N' or the SavedModel's path.
    step: int | None  # The checkpoint's step; None for a SavedModel.
    eval_step: object  # pixel_metrics.make_eval_step / savedmodel_eval_step.
    image_size: int | None  # Sketches are resized to this (None: unknown, 256 is used).


class UsageError(Exception):
    """Bad flags; the message is one line."""


def _report_skipped(skipped: list, where: str, any_left: bool) -> None:
    """Names each unusable file once on stderr; UsageError when none is left."""
    for path, reason in skipped:
        print(f'skipped {path}: {reason}', file=sys.stderr)
    if not any_left:
        raise UsageError(f'{where}: no usable images ({len(skipped)} file(s) skipped, all '
                         f'unreadable or not pairs).')
    if skipped:
        print(f'{len(skipped)} file(s) skipped in {where}', file=sys.stderr)


def _data(config, image_size: int):
    """(function making the dataset, description) from the data flags."""
    from pix2pix_tf.data import input_pipeline
    from pix2pix_tf.data import record_readers

    if FLAGS.pairs:
        files = image_files.files_matching(FLAGS.pairs, FLAGS.exclude)
        if not files:
            raise UsageError(f'--pairs={FLAGS.pairs}: no image files there'
                             f'{" after --exclude" if FLAGS.exclude else ""}.')
        files, skipped = image_files.usable_files(files, ab_pair=True)
        _report_skipped(skipped, FLAGS.pairs, bool(files))
        records = lambda: record_readers.ab_file_records(files)  # noqa: E731
        description = f'{len(files)} AB pairs from {FLAGS.pairs}'
    elif FLAGS.sketches or FLAGS.photos:
        if not (FLAGS.sketches and FLAGS.photos):
            raise UsageError('--sketches and --photos go together.')
        sketch_files, photo_files, skipped = image_files.usable_pairs(
            *sources.match_by_name(FLAGS.sketches, FLAGS.photos))
        _report_skipped(skipped, FLAGS.sketches, bool(sketch_files))
        records = lambda: record_readers.paired_file_records(sketch_files,  # noqa: E731
                                                             photo_files)
        description = f'{len(sketch_files)} pairs from {FLAGS.sketches} + {FLAGS.photos}'
    else:
        dataset = FLAGS.dataset or (config.dataset if config else None)
        if not dataset:
            raise UsageError('pass --dataset, --pairs or --sketches/--photos with a SavedModel.')
        data_dir = FLAGS.data_dir if FLAGS.data_dir is not None else (
            config.data_dir if config else '')
        source = sources.resolve(dataset, data_dir)
        _report_skipped(source.usable(FLAGS.split)[1], dataset, True)
        records = lambda: source.records(FLAGS.split)  # noqa: E731
        description = f'{dataset} ({FLAGS.split} split)'
    if FLAGS.thicken_strokes > 1:
        description += f', strokes thickened {FLAGS.thicken_strokes}x{FLAGS.thicken_strokes}'
    return (lambda: input_pipeline.pairs_dataset(*records(), image_size, FLAGS.batch_size,
                                                 FLAGS.num_examples, FLAGS.thicken_strokes)
            ), description


def _models(config) -> tuple[list[ScoredModel], str]:
    """The models to score, and the inference mode used."""
    from pix2pix_tf.evaluation import pixel_metrics
    from pix2pix_tf.training import checkpoint_integrity
    from pix2pix_tf.training import checkpoints

    if FLAGS.model:
        model_dir = client.resolve_model_dir(FLAGS.model)
        eval_step, info = pixel_metrics.savedmodel_eval_step(model_dir)
        return [ScoredModel(model_dir, None, eval_step, info.get('image_size'))], info.get(
            'inference_mode', 'as exported')
    mode = FLAGS.inference_mode or config.inference_mode
    if FLAGS.all_checkpoints:
        steps = checkpoints.available_steps(FLAGS.workdir)
        if not steps:
            raise config_lib.ConfigError(f'no checkpoint in {FLAGS.workdir}/checkpoints: train '
                                         f'first (python train.py --workdir={FLAGS.workdir}).')
    else:
        steps = [FLAGS.checkpoint_step]
    models = []
    for step in steps:
        try:
            _, generator, path = checkpoints.restore_generator(
                FLAGS.workdir, step, use_ema=False if FLAGS.raw_weights else None)
        except checkpoint_integrity.DamagedCheckpoint as error:
            if not FLAGS.all_checkpoints:
                raise
            print(f'skipped: {error}', file=sys.stderr)  # The other rows are still scored.
            continue
        step = checkpoints.step_of(path)
        models.append(ScoredModel(f'step {step}', step,
                                  pixel_metrics.make_eval_step(generator, mode), config.image_size))
    if not models:
        raise config_lib.ConfigError(f'no readable checkpoint in {FLAGS.workdir}/checkpoints '
                                     f'(all set aside as *.damaged): restore them from a backup '
                                     f'or train again.')
    return models, mode


def _weights_used(config) -> str:
    if not config:
        return 'as exported'
    if config.ema_decay and not FLAGS.raw_weights:
        return f'moving average (ema_decay {config.ema_decay})'
    return 'trained'


def _run(argv):
    logging.set_verbosity(logging.WARNING)
    program = cli.program_name('evaluate.py')
    try:
        if len(argv) > 1:
            raise UsageError(f'unexpected arguments {" ".join(argv[1:])}.')
        if bool(FLAGS.workdir) == bool(FLAGS.model):
            raise UsageError('pass exactly one of --workdir and --model.')
        if FLAGS.raw_weights and not FLAGS.workdir:
            raise UsageError('--raw_weights needs --workdir (a SavedModel holds one set of '
                             'weights).')
        if FLAGS.batch_size < 1:
            raise UsageError('--batch_size must be at least 1.')
        if FLAGS.thicken_strokes < 0:
            raise UsageError('--thicken_strokes must be 0 (off) or a size such as 3 or 5.')
        if FLAGS.model:
            client.resolve_model_dir(FLAGS.model)  # A typo fails before TensorFlow loads.
        config = config_lib.read_workdir_config(FLAGS.workdir) if FLAGS.workdir else None
        cli.import_tensorflow_quietly(cli.wants_tensorflow_logs())
        _evaluate(config)
    except (UsageError, config_lib.ConfigError, client.PredictError,
            gan_metrics.GanMetricsError) as error:
        sys.exit(f'{program}: error: {error}')


def _evaluate(config) -> None:
    import tensorflow as tf  # Imported once the flags are known good.

    from pix2pix_tf.evaluation import pixel_metrics
    from pix2pix_tf.evaluation import report

    feature_fn = None
    if FLAGS.inception_weights:
        feature_fn = pixel_metrics.make_feature_fn(gan_metrics.load_inception(
            FLAGS.inception_weights))
    models, mode = _models(config)
    image_size = models[0].image_size or 256
    make_dataset, description = _data(config, image_size)
    output_dir = FLAGS.output_dir or (
        os.path.join(FLAGS.workdir, 'evaluation') if FLAGS.workdir
        else os.path.join('evaluation', os.path.basename(os.path.dirname(
            os.path.abspath(models[0].name))) or 'model'))
    writer = (tf.summary.create_file_writer(os.path.join(FLAGS.workdir, 'eval'))
              if FLAGS.workdir else None)
    # Scores of other weights or other strokes get their own TensorBoard tags.
    tag = 'evaluate' + ('_raw_weights' if FLAGS.raw_weights else '') + (
        f'_strokes{FLAGS.thicken_strokes}' if FLAGS.thicken_strokes > 1 else '')
    rows, result, seconds, scored = [], None, 0.0, 0
    for index, (name, step, eval_step, _) in enumerate(models):
        started = time.perf_counter()
        keep = FLAGS.report_examples if index == len(models) - 1 else 0
        result = pixel_metrics.evaluate(eval_step, make_dataset(), feature_fn, keep)
        seconds += time.perf_counter() - started
        scored += result.metrics['num_examples']
        rows.append({'model': name, 'step': step, 'metrics': result.metrics})
        print(f'{name}: ' + ', '.join(f'{key} {value:.4f}' for key, value in
                                     result.metrics.items() if key != 'num_examples'),
              flush=True)
        if writer is not None and step is not None:
            pixel_metrics.write_scalars(writer, step, tag, result.metrics)
    if writer is not None:
        writer.flush()
    info = {'model': FLAGS.workdir or models[0].name, 'data': description,
            'inference_mode': mode, 'image_size': image_size,
            'weights': _weights_used(config),
            'fid_kid': 'InceptionV3 from ' + FLAGS.inception_weights if feature_fn else 'off',
            'images_per_second': round(scored / seconds, 2)}
    paths = report.write(output_dir, rows, result.examples, info)
    print(f'\n{report.table(rows)}\n\n{description}; inference mode {mode}; '
          f'{scored / seconds:.1f} pairs/s\nReport: {paths["report"]}\nMetrics: '
          f'{paths["metrics"]}')


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python evaluate.py` and the `pix2pix-evaluate` console script."""
    cli.run(_run, define_flags, argv, 'evaluate.py', __doc__)


if __name__ == '__main__':
    main()
