"""The `pix2pix-demo` command: draw a sketch, get a shoe, in a local web app on an exported
model (the server and its page: pix2pix_tf/serving/demo_server.py).

    pix2pix-demo --model=saved_models/sample                         # http://127.0.0.1:8000
    pix2pix-demo --model=saved_models/sample/2 --port=9000
    pix2pix-demo --server=http://localhost:8501/v1/models/sample     # via TF Serving REST
    pix2pix-demo --server=localhost:8500/sample                      # via TF Serving gRPC

The server binds to 127.0.0.1 unless --host says otherwise; Ctrl-C stops it. --backend is the
old name of --server.
"""

import sys

from absl import flags
from absl import logging

from pix2pix_tf.commands import cli
from pix2pix_tf.serving import client
from pix2pix_tf.serving import demo_server

FLAGS = flags.FLAGS


def define_flags(flag_values: flags.FlagValues = FLAGS) -> None:
    """The demo command's flags (--backend: the old name of --server)."""
    options = {'flag_values': flag_values}
    cli.define_model_flags(flag_values)
    cli.define_renamed(flag_values, 'backend')
    flags.DEFINE_string('host', '127.0.0.1', 'Address to bind (default: loopback only).',
                        **options)
    flags.DEFINE_integer('port', 8000, 'Port to listen on (0 = any free port).', lower_bound=0,
                         upper_bound=65535, **options)
    flags.DEFINE_float('max_upload_mb', 10, 'Largest upload accepted, in MB (413 above).',
                       **options)
    flags.DEFINE_integer('max_queue', demo_server.MAX_QUEUE, 'Requests allowed to wait for '
                         'the model (503 with Retry-After above).', **options)
    flags.DEFINE_integer('max_connections', demo_server.MAX_CONNECTIONS,
                         'Connections open at once, one thread each (a new one past this gets '
                         '503 with Retry-After).', **options)
    flags.DEFINE_float('timeout', demo_server.Handler.timeout,
                       'Seconds a connection may stay silent before it is closed (408 mid-'
                       'upload).', **options)
    flags.DEFINE_bool('verbose', False, 'Log every request (and TensorFlow\'s start-up).',
                      **options)


def _run(argv):
    logging.set_verbosity(logging.WARNING)
    program = cli.program_name('pix2pix-demo')
    if len(argv) > 1:  # Usage errors exit 2, as with argparse before.
        cli.fail(program, f'unexpected arguments {" ".join(argv[1:])}.', 2)
    if bool(FLAGS.model) == bool(FLAGS.server):
        cli.fail(program, 'pass exactly one of --model (a SavedModel) and --server (TF '
                          'Serving).', 2)
    if FLAGS.max_upload_mb <= 0 or FLAGS.max_queue < 0:
        cli.fail(program, '--max_upload_mb must be positive and --max_queue 0 or more.', 2)
    if FLAGS.max_connections < 1 or FLAGS.timeout <= 0:
        cli.fail(program, '--max_connections must be 1 or more and --timeout positive.', 2)
    try:
        if FLAGS.model:
            client.resolve_model_dir(FLAGS.model)  # A typo fails before TensorFlow loads.
        if not (FLAGS.server or '').startswith(('http://', 'https://')):  # These need TF.
            cli.import_tensorflow_quietly(FLAGS.verbose or cli.wants_tensorflow_logs())
        backend = client.make_backend(FLAGS.model, FLAGS.server)
        server = demo_server.make_server(backend, FLAGS.host, FLAGS.port, FLAGS.max_upload_mb,
                                         FLAGS.max_queue, verbose=FLAGS.verbose,
                                         timeout=FLAGS.timeout,
                                         max_connections=FLAGS.max_connections)
    except client.PredictError as error:
        sys.exit(f'{program}: error: {error}')
    except OSError as error:
        sys.exit(f'{program}: error: cannot listen on {FLAGS.host}:{FLAGS.port} ({error}).')
    host, port = server.server_address[:2]
    print(f'pix2pix demo on http://{host}:{port}/ (model: '
          f'{FLAGS.server or backend.model_dir}); Ctrl-C stops it.', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `pix2pix-demo` console script."""
    cli.run(_run, define_flags, argv, 'pix2pix-demo', __doc__, usage_status=2)


if __name__ == '__main__':
    main()
