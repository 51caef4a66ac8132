"""Export a tiny trained model, reload it in a fresh process, and serve it.

Exports are read by their real consumers: TensorFlow's TF2 loader in a fresh process, the
session-based loader of TF Serving and `saved_model_cli run` (tests/serving_stand_ins.py), and
the `saved_model_cli` command itself.
"""

import io
import json
import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tensorflow.core.protobuf import saved_model_pb2

from pix2pix_tf.data import image_headers
from pix2pix_tf.data import images
from pix2pix_tf.model import networks
from pix2pix_tf.serving import signatures
from pix2pix_tf.serving import versions
from pix2pix_tf.training import checkpoints

from conftest import REPO
from conftest import SAMPLE
from conftest import tiny_config
from serving_stand_ins import SessionModel

SKETCH_PATH = sorted((SAMPLE / 'val').glob('*.jpg'))[0]


@pytest.fixture
def workdir(trained_workdir):
    return trained_workdir


def sketch_pixels(size=64) -> np.ndarray:
    """A real validation sketch (left half of a sample pair), uint8 [size, size]."""
    sketch = Image.open(SKETCH_PATH).convert('L').crop((0, 0, 256, 256))
    return np.asarray(sketch.resize((size, size), Image.BILINEAR))


def encode(array: np.ndarray, format_: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format_)
    return buffer.getvalue()


def keras_photo(generator, sketch: np.ndarray, mode: str) -> np.ndarray:
    """What the Keras generator makes of a model-sized uint8 sketch [S, S]."""
    model_input = images.to_model_range(sketch[np.newaxis, :, :, np.newaxis])
    return images.to_uint8(networks.generate(generator, model_input, mode)).numpy()[0]


# Runs in a fresh interpreter: TensorFlow's own loader, as TF Serving loads the model.
RELOAD_SCRIPT = textwrap.dedent('''
    import json, sys
    import numpy as np
    import tensorflow as tf
    model_dir, inputs_path, out_path = sys.argv[1:4]
    loaded = tf.saved_model.load(model_dir)
    serve = loaded.signatures['serving_default']
    pixels = loaded.signatures['predict_pixels']
    before = [v.numpy().copy() for v in loaded.generator_variables]
    inputs = np.load(inputs_path)
    results = {}
    for name in inputs.files:
        if name == 'pixels':
            results['pixels'] = pixels(sketches=tf.constant(inputs[name]))['photos'].numpy()
            continue
        png = serve(images=tf.constant([inputs[name].tobytes()]))['images_bytes'][0]
        results[name] = tf.io.decode_png(png).numpy()
    try:
        serve(images=tf.constant([b'definitely not an image']))
        errors = 'no error'
    except tf.errors.InvalidArgumentError as error:
        errors = str(error)
    try:
        pixels(sketches=tf.zeros([1, 8, 8, 1], tf.float32))
        dtype_error = 'no error'
    except tf.errors.InvalidArgumentError as error:
        dtype_error = str(error)
    # The model keeps serving after a bad request.
    again = serve(images=tf.constant([inputs[inputs.files[0]].tobytes()]))['images_bytes'][0]
    results['again'] = tf.io.decode_png(again).numpy()
    unchanged = all(np.array_equal(b, v.numpy()) for b, v in zip(before,
                                                                 loaded.generator_variables))
    np.savez(out_path, **results)
    print(json.dumps({'error': errors, 'dtype_error': dtype_error, 'unchanged': unchanged}))
''')


def reload_and_serve(model_dir, inputs: dict, tmp_path):
    np.savez(tmp_path / 'inputs.npz', **inputs)
    result = subprocess.run([sys.executable, '-c', RELOAD_SCRIPT, str(model_dir),
                             str(tmp_path / 'inputs.npz'), str(tmp_path / 'out.npz')],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return dict(np.load(tmp_path / 'out.npz')), report


@pytest.mark.parametrize('mode', ['paper', 'eval'])
def test_reloaded_savedmodel_matches_keras_and_serves_any_image(workdir, tmp_path, mode):
    _, generator, _ = checkpoints.restore_generator(str(workdir))
    path = signatures.export(generator, 64, mode, str(tmp_path / 'export'))
    assert path == str(tmp_path / 'export' / '1')
    sketch = sketch_pixels(64)
    rgba = np.concatenate([np.repeat(sketch[..., None], 3, -1),
                           np.full([64, 64, 1], 255, np.uint8)], axis=-1)
    rgba[:8, :, 3] = 0  # A transparent band: counts as white paper.
    odd = sketch_pixels(100)[:, 10:87]  # 100x77
    inputs = {
        'png_gray': np.frombuffer(encode(sketch, 'PNG'), np.uint8),
        'png_rgb': np.frombuffer(encode(np.repeat(sketch[..., None], 3, -1), 'PNG'), np.uint8),
        'png_rgba': np.frombuffer(encode(rgba, 'PNG'), np.uint8),
        'jpeg': np.frombuffer(encode(sketch, 'JPEG'), np.uint8),
        'odd_size': np.frombuffer(encode(odd, 'PNG'), np.uint8),
        'pixels': sketch[np.newaxis, :, :, np.newaxis],
    }
    outputs, report = reload_and_serve(path, inputs, tmp_path)
    expected = keras_photo(generator, sketch, mode)
    for name in ('png_gray', 'png_rgb', 'pixels'):
        got = outputs[name][0] if name == 'pixels' else outputs[name]
        assert got.shape == (64, 64, 3)
        assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1, name
    assert outputs['png_rgba'].shape == (64, 64, 3)
    assert outputs['jpeg'].shape == (64, 64, 3)
    assert outputs['odd_size'].shape == (100, 77, 3)
    np.testing.assert_array_equal(outputs['again'], outputs['png_gray'])
    assert 'Unknown image file format' in report['error']
    assert 'expected to be a uint8 tensor but is a float tensor' in report['dtype_error']
    assert report['unchanged'], 'a request changed a variable'
    # The export runs the inference twin: forward convolutions only, none of TensorFlow's
    # slow transposed ones on CPU (Conv2DBackpropInput), and the photos above still match.
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((tmp_path / 'export' / '1' / 'saved_model.pb').read_bytes())
    graph = saved.meta_graphs[0].graph_def
    op_types = {node.op for function in graph.library.function for node in function.node_def}
    assert {'Conv2D', 'DepthToSpace'} <= op_types
    assert 'Conv2DBackpropInput' not in op_types


def test_export_command_versions_overwrite_and_saved_model_cli(workdir, tmp_path):
    export_dir = tmp_path / 'models'

    def export(*flags):
        return subprocess.run([sys.executable, 'export.py', f'--workdir={workdir}',
                               f'--export_dir={export_dir}', *flags], cwd=REPO,
                              capture_output=True, text=True, timeout=300)

    # One plain export: numbering past the highest version is tests/serving/test_versions.py's.
    first = export()
    assert first.returncode == 0, first.stderr[-2000:]
    assert sorted(os.listdir(export_dir)) == ['1']
    refused = export('--version=1')
    assert refused.returncode != 0
    assert refused.stderr.strip().endswith('already exists; pass --overwrite to replace it, or '
                                           'omit --version to write version 2.')
    assert export('--version=1', '--overwrite', '--inference_mode=eval').returncode == 0
    with open(export_dir / '1' / 'assets.extra' / 'pix2pix.json') as file:
        assert json.load(file)['inference_mode'] == 'eval'
    cli = os.path.join(os.path.dirname(sys.executable), 'saved_model_cli')
    shown = subprocess.run([cli, 'show', '--dir', str(export_dir / '1'), '--all'],
                           capture_output=True, text=True, timeout=300).stdout
    for line in ("signature_def['serving_default']", "inputs['images'] tensor_info",
                 'dtype: DT_STRING', "outputs['images_bytes'] tensor_info",
                 "signature_def['predict_pixels']", "inputs['sketches'] tensor_info",
                 'dtype: DT_UINT8', 'shape: (-1, -1, -1, 1)', "outputs['photos'] tensor_info",
                 'shape: (-1, -1, -1, 3)'):
        assert line in shown, line
    missing = subprocess.run([sys.executable, 'export.py', f'--workdir={tmp_path / "nope"}'],
                             cwd=REPO, capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and 'config.json not found' in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_interrupted_export_leaves_no_version(workdir, tmp_path):
    export_dir = tmp_path / 'models'
    process = subprocess.Popen([sys.executable, 'export.py', f'--workdir={workdir}',
                                f'--export_dir={export_dir}'], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and process.poll() is None:
            if export_dir.is_dir() and any(name.startswith(versions.TEMP_PREFIX)
                                           for name in os.listdir(export_dir)):
                process.send_signal(signal.SIGKILL)  # Killed while writing.
                break
            time.sleep(0.005)
        process.wait(timeout=60)
    finally:
        process.kill()
    assert process.returncode == -signal.SIGKILL, 'the export finished before it was killed'
    assert versions.numeric_versions(str(export_dir)) == []
    # The next export cleans the leftover and writes version 1.
    _, generator, _ = checkpoints.restore_generator(str(workdir))
    signatures.export(generator, 64, 'paper', str(export_dir))
    assert sorted(os.listdir(export_dir)) == ['1']


def test_restore_generator_errors(tmp_path, workdir):
    from pix2pix_tf import config as config_lib
    with pytest.raises(config_lib.ConfigError, match='no checkpoint for step 99'):
        checkpoints.restore_generator(str(workdir), 99)
    with pytest.raises(config_lib.ConfigError, match='config.json not found'):
        checkpoints.restore_generator(str(tmp_path))


def test_sketch_to_gray_composites_alpha_on_white():
    rgba = tf.constant([[[0, 0, 0, 0], [0, 0, 0, 255], [255, 0, 0, 255]]], tf.uint8)
    gray = signatures.sketch_to_gray(rgba).numpy()[0, :, 0]
    np.testing.assert_allclose(gray, [255, 0, 0.2989 * 255], atol=0.5)
    gray_alpha = tf.constant([[[100, 255], [100, 0]]], tf.uint8)
    np.testing.assert_allclose(signatures.sketch_to_gray(gray_alpha).numpy()[0, :, 0], [100, 255],
                               atol=0.5)


PRECISIONS = ('float32', 'mixed_bfloat16', 'mixed_float16')
SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable), 'saved_model_cli')


@pytest.fixture(scope='module')
def precision_workdirs(trained_workdir, tmp_path_factory):
    """Tiny models trained 2 steps under each precision policy (float32: the shared one)."""
    from pix2pix_tf.training import loop

    workdirs = {'float32': trained_workdir}
    for policy in PRECISIONS[1:]:
        workdirs[policy] = tmp_path_factory.mktemp(policy)
        loop.train_and_evaluate(tiny_config(train_steps=2, eval_every=1000,
                                                 precision=policy), str(workdirs[policy]))
    return workdirs


def assert_close(got: np.ndarray, expected: np.ndarray, levels: int = 1):
    assert got.shape == expected.shape
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= levels


def saved_model_cli_run(version_dir, signature, inputs, out_dir):
    """`saved_model_cli run` with --inputs <name>=<file>.npy; returns the outputs it saved."""
    result = subprocess.run([SAVED_MODEL_CLI, 'run', '--dir', str(version_dir), '--tag_set',
                             'serve', '--signature_def', signature, '--inputs', inputs,
                             '--outdir', str(out_dir), '--overwrite'],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return {name[:-4]: np.load(out_dir / name, allow_pickle=True)
            for name in os.listdir(out_dir)}


@pytest.mark.parametrize('precision', PRECISIONS)
@pytest.mark.parametrize('mode', ['paper', 'eval'])
def test_session_loader_and_saved_model_cli_give_the_tf2_loader_pixels(
        precision_workdirs, tmp_path, precision, mode):
    _, generator, _ = checkpoints.restore_generator(str(precision_workdirs[precision]))
    path = signatures.export(generator, 64, mode, str(tmp_path / 'export'))
    sketch, odd = sketch_pixels(64), sketch_pixels(100)[:, 10:87]
    pngs = np.array([encode(sketch, 'PNG'), encode(odd, 'PNG')], object)
    pixels = sketch[np.newaxis, :, :, np.newaxis]

    loaded = tf.saved_model.load(path)
    tf2_pngs = loaded.signatures['serving_default'](images=tf.constant(list(pngs)))
    tf2_pixels = loaded.signatures['predict_pixels'](sketches=tf.constant(pixels))['photos']
    tf2_photos = [tf.io.decode_png(png).numpy() for png in tf2_pngs['images_bytes'].numpy()]

    model = SessionModel(path)  # How TF Serving loads it.
    try:
        session_pngs = model.run('serving_default', {'images': pngs})['images_bytes']
        session_pixels = model.run('predict_pixels', {'sketches': pixels})['photos']
    finally:
        model.close()
    for png, expected in zip(session_pngs, tf2_photos):
        assert_close(tf.io.decode_png(png).numpy(), expected)
    assert_close(session_pixels, tf2_pixels.numpy())
    assert tf2_photos[1].shape == (100, 77, 3)

    if mode == 'eval' and precision != 'float32':
        return  # The session loader ran every cell above; the CLI, each precision and mode.
    np.save(tmp_path / 'sketch.npy', pixels)
    cli_pixels = saved_model_cli_run(path, 'predict_pixels', f'sketches={tmp_path}/sketch.npy',
                                     tmp_path / 'cli_pixels')
    assert_close(cli_pixels['photos'], tf2_pixels.numpy())
    if precision == 'float32' and mode == 'paper':  # serving_default through the CLI once.
        np.save(tmp_path / 'images.npy', np.array([encode(sketch, 'PNG')]))
        cli_pngs = saved_model_cli_run(path, 'serving_default',
                                       f'images={tmp_path}/images.npy', tmp_path / 'cli_pngs')
        assert_close(tf.io.decode_png(cli_pngs['images_bytes'][0]).numpy(), tf2_photos[0])


def test_saved_model_cli_runs_the_readme_command(exported_model):
    """The README's one-liner (a literal: TF 2.21's saved_model_cli evaluates no numpy calls)."""
    result = subprocess.run([SAVED_MODEL_CLI, 'run', '--dir', str(exported_model / '1'),
                             '--tag_set', 'serve', '--signature_def', 'predict_pixels',
                             '--input_exprs', 'sketches=[[[[255], [0]], [[0], [255]]]]'],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'Result for output key photos:' in result.stdout


def _modes(root) -> dict:
    """{path relative to root: permission bits} of root and everything under it."""
    modes = {'.': stat.S_IMODE(os.stat(root).st_mode)}
    for folder, subfolders, files in os.walk(root):
        for name in subfolders + files:
            path = os.path.join(folder, name)
            modes[os.path.relpath(path, root)] = stat.S_IMODE(os.stat(path).st_mode)
    return modes


def test_version_folder_is_readable_by_another_user(trained_workdir):
    _, generator, _ = checkpoints.restore_generator(str(trained_workdir))
    previous_umask = os.umask(0o022)
    root = tempfile.mkdtemp()  # Not pytest's tmp_path: that is private to its user.
    try:
        os.chmod(root, 0o755)
        version = signatures.export(generator, 64, 'paper', os.path.join(root, 'models'))
        tf.saved_model.save(tf.Module(), os.path.join(root, 'plain'))
        ours, plain = _modes(version), _modes(os.path.join(root, 'plain'))
        assert ours['.'] == plain['.'] == 0o755
        for name in ('variables', 'variables/variables.index', 'saved_model.pb'):
            assert ours[name] == plain[name], name
        assert set(ours.values()) == {0o755, 0o644}, ours
        if os.geteuid() == 0:  # TF Serving in a container often runs as another uid.
            def as_nobody():
                os.setgid(65534)
                os.setuid(65534)

            read = subprocess.run(['find', version, '-type', 'f', '-exec', 'cat', '{}', '+'],
                                  preexec_fn=as_nobody, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, timeout=60)
            assert read.returncode == 0, read.stderr
    finally:
        os.umask(previous_umask)
        shutil.rmtree(root, ignore_errors=True)


def _bmp_top_down(array: np.ndarray) -> bytes:
    """A BMP whose header height is negative (rows stored top-down), from a gray array."""
    data = bytearray(encode(array, 'BMP'))
    height = struct.unpack_from('<i', data, 22)[0]
    struct.pack_into('<i', data, 22, -height)
    return bytes(data)


def test_encoded_size_reads_the_header_of_each_format():
    array = np.full((37, 53), 200, np.uint8)
    for name, data in (('PNG', encode(array, 'PNG')), ('JPEG', encode(array, 'JPEG')),
                       ('GIF', encode(array, 'GIF')), ('BMP', encode(array, 'BMP')),
                       ('top-down BMP', _bmp_top_down(array))):
        assert images.encoded_size(tf.constant(data)).numpy().tolist() == [37, 53], name
        assert image_headers.sniff(data)[1:] == (37, 53), name  # The clients' Python twin.
    for data in (b'', b'not an image at all, longer than 26 bytes', encode(array, 'PNG')[:20]):
        assert images.encoded_size(tf.constant(data)).numpy().tolist() == [0, 0]
        assert image_headers.sniff(data) is None


def test_oversized_sketches_are_refused_and_the_next_request_served(exported_model, workdir,
                                                                    tmp_path):
    _, generator, _ = checkpoints.restore_generator(str(workdir))
    small_limit = signatures.export(generator, 64, 'eval', str(tmp_path / 'limit100'),
                                 max_sketch_size=100)
    with open(os.path.join(small_limit, 'assets.extra', 'pix2pix.json')) as file:
        assert json.load(file)['max_sketch_size'] == 100
    model = SessionModel(small_limit)
    default = SessionModel(str(exported_model / '1'))
    try:
        wide = np.full((40, 101), 255, np.uint8)
        for format_ in ('PNG', 'JPEG', 'GIF', 'BMP'):
            with pytest.raises(tf.errors.InvalidArgumentError, match='at most 100x100 pixels'):
                model.run('serving_default', {'images': np.array([encode(wide, format_)],
                                                                 object)})
        with pytest.raises(tf.errors.InvalidArgumentError, match='at most 100x100 pixels'):
            model.run('predict_pixels', {'sketches': wide[np.newaxis, :, :, np.newaxis]})
        fits = model.run('serving_default',
                         {'images': np.array([encode(sketch_pixels(100), 'PNG')], object)})
        assert tf.io.decode_png(fits['images_bytes'][0]).shape == (100, 100, 3)

        # A 6000x6000 PNG (68 KB) against the default 4096 limit; its pixel data is cut off,
        # so only a check of the header, before any decoding, can name the size.
        huge = encode(np.full((6000, 6000), 255, np.uint8), 'PNG')
        for data in (huge, huge[:4096]):
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match='at most 4096x4096 pixels'):
                default.run('serving_default', {'images': np.array([data], object)})
        again = default.run('serving_default',
                            {'images': np.array([encode(sketch_pixels(64), 'PNG')], object)})
        assert tf.io.decode_png(again['images_bytes'][0]).shape == (64, 64, 3)
    finally:
        model.close()
        default.close()
