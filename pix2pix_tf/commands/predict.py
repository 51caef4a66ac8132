"""The `pix2pix-predict` command: your own sketches (or photos) through an exported model,
locally or on TF Serving.

    pix2pix-predict my_sketch.png --model=saved_models/sample
    pix2pix-predict 'drawings/*.png' --model=saved_models/sample/3 --grid --output_dir=out
    pix2pix-predict shoe_photo.jpg --from_photo --model=saved_models/sample --grid
    pix2pix-predict drawings/ --server=http://localhost:8501/v1/models/sample
    pix2pix-predict drawings/ --server=localhost:8500/sample --signature=predict_pixels

Arguments are files, folders (their images, sorted) or glob patterns: sketches drawn dark on
white, any size, PNG/JPEG/BMP/GIF. For each it writes `<name>.png`, the generated photo at the
input's size, to --output_dir (see pix2pix_tf/serving/predictions.py; --grid adds grid.png).

--model loads a SavedModel in this process (a folder of numbered versions picks the highest);
--server sends the images to TF Serving: an `http://host:8501/v1/models/<name>` URL uses its
REST predict API, a `host:8500/<name>[/<version>]` address its gRPC PredictionService (needs
`pip install -e ".[grpc]"`), on `serving_default` or, with --signature=predict_pixels, on uint8
pixels (pix2pix_tf/serving/client.py). Exit status 1 when an input was skipped.
"""

import os
import sys

from absl import flags
from absl import logging

from pix2pix_tf.commands import cli
from pix2pix_tf.serving import client
from pix2pix_tf.serving import predictions

FLAGS = flags.FLAGS


def define_flags(flag_values: flags.FlagValues = FLAGS) -> None:
    """The predict command's flags (the inputs are positional arguments)."""
    options = {'flag_values': flag_values}
    cli.define_model_flags(flag_values)
    flags.DEFINE_enum('signature', 'serving_default', client.SIGNATURES, 'With a gRPC --server: '
                      'serving_default (encoded images) or predict_pixels (uint8 pixels).',
                      **options)
    flags.DEFINE_string('output_dir', 'predictions', 'Where the photos (and grid.png) go.',
                        **options)
    flags.DEFINE_bool('grid', False, 'Also write grid.png: a row per input, [photo |] sketch | '
                      'generated photo.', **options)
    flags.DEFINE_bool('from_photo', False, 'The inputs are photos: sketch them first '
                      '(pix2pix_tf/data/edges.py) and write each sketch too.', **options)
    flags.DEFINE_integer('batch_size', 8, 'Images per request.', **options)


def _run(argv):
    logging.set_verbosity(logging.WARNING)
    program = cli.program_name('pix2pix-predict')
    inputs = argv[1:]
    if not inputs:  # Usage errors exit 2 (1 means some inputs were skipped).
        cli.fail(program, 'name the sketches to translate: files, folders or glob patterns, '
                          'e.g. pix2pix-predict drawings/ --model=...', 2)
    if bool(FLAGS.model) == bool(FLAGS.server):
        cli.fail(program, 'pass exactly one of --model (a SavedModel) and --server (TF '
                          'Serving).', 2)
    if FLAGS.batch_size < 1:
        cli.fail(program, '--batch_size must be at least 1.', 2)
    try:
        predictions.expand_inputs(inputs)  # Fail on a typo before loading TensorFlow.
        if FLAGS.model:
            client.resolve_model_dir(FLAGS.model)  # A typo fails before TensorFlow loads.
        if not (FLAGS.server or '').startswith(('http://', 'https://')):  # These need TF.
            cli.import_tensorflow_quietly(cli.wants_tensorflow_logs())
        backend = client.make_backend(FLAGS.model, FLAGS.server, FLAGS.signature)
        written, skipped = predictions.run(inputs, backend, FLAGS.output_dir, FLAGS.grid,
                                           FLAGS.from_photo, FLAGS.batch_size)
    except client.PredictError as error:
        sys.exit(f'{program}: error: {error}')
    print(f'{len(written)} photos written to {FLAGS.output_dir}'
          + (f' (and {os.path.join(FLAGS.output_dir, predictions.GRID_FILE)})'
             if FLAGS.grid and written else '')
          + (f'; {skipped} input(s) skipped' if skipped else ''))
    if skipped:
        sys.exit(1)  # Scripts notice that not every input has a photo.


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `pix2pix-predict` console script."""
    cli.run(_run, define_flags, argv, 'pix2pix-predict', __doc__, usage_status=2)


if __name__ == '__main__':
    main()
