"""export.py beyond the SavedModel basics (test_serving.py): TFLite, the model card, bad input.

The TFLite model is read by LiteRT (`ai_edge_litert`), the interpreter that runs .tflite files
on devices, in a fresh process that imports no TensorFlow.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import tensorflow as tf

from pix2pix_tf import checkpoints
from pix2pix_tf import serving

from conftest import REPO
from conftest import SAMPLE

VAL_FILES = sorted((SAMPLE / 'val').glob('*.jpg'))


def export(workdir, export_dir, *flags):
    return subprocess.run([sys.executable, 'export.py', f'--workdir={workdir}',
                           f'--export_dir={export_dir}', *flags], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def val_sketches(size=64) -> np.ndarray:
    """The sample's validation sketches at model size, uint8 [N, size, size, 1]."""
    sketches = [cv2.resize(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)[:, :256], (size, size),
                           interpolation=cv2.INTER_AREA) for path in VAL_FILES]
    return np.stack(sketches)[..., np.newaxis]


LITERT_SCRIPT = textwrap.dedent('''
    import json, sys
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter
    model_path, contract_path, inputs_path, out_path = sys.argv[1:5]
    contract = json.load(open(contract_path))
    runner = Interpreter(model_path=model_path).get_signature_runner(contract['signature'])
    name, output = contract['input']['name'], contract['output']['name']
    photos = [runner(**{name: sketch[np.newaxis]})[output][0] for sketch in np.load(inputs_path)]
    np.save(out_path, np.stack(photos))
    print('tensorflow' in sys.modules)
''')


def run_litert(version_dir, sketches, tmp_path) -> np.ndarray:
    np.save(tmp_path / 'inputs.npy', sketches)
    result = subprocess.run([sys.executable, '-c', LITERT_SCRIPT,
                             os.path.join(version_dir, 'generator.tflite'),
                             os.path.join(version_dir, 'generator.json'),
                             str(tmp_path / 'inputs.npy'), str(tmp_path / 'out.npy')],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-1] == 'False'  # The device-side runtime, no TensorFlow.
    return np.load(tmp_path / 'out.npy')


def test_tflite_matches_the_saved_model_in_eval_mode(trained_workdir, tmp_path):
    sketches = val_sketches()
    _, generator, _ = checkpoints.restore_generator(str(trained_workdir))
    saved_model = serving.export(generator, 64, 'eval', str(tmp_path / 'saved_model'))
    expected = tf.saved_model.load(saved_model).signatures['predict_pixels'](
        sketches=tf.constant(sketches))['photos'].numpy()

    sizes = {}
    for weights in ('float32', 'float16'):
        result = export(trained_workdir, tmp_path / weights, '--format=tflite',
                        f'--tflite_weights={weights}')
        assert result.returncode == 0, result.stderr[-2000:]
        version = tmp_path / weights / '1'
        assert sorted(os.listdir(version)) == ['generator.json', 'generator.tflite']
        assert f'{version / "generator.tflite"}' in result.stdout
        with open(version / 'generator.json') as file:
            contract = json.load(file)
        assert contract['input'] == {**contract['input'], 'dtype': 'uint8',
                                     'shape': [1, 64, 64, 1]}
        assert contract['output']['shape'] == [1, 64, 64, 3]
        assert contract['inference_mode'] == 'eval' and contract['weights'] == weights
        assert contract['model_card']['training']['step'] == 3
        photos = run_litert(version, sketches, tmp_path)
        assert photos.shape == expected.shape and photos.dtype == np.uint8
        difference = np.abs(photos.astype(int) - expected.astype(int))
        if weights == 'float32':
            assert difference.max() <= 2
        else:  # Rounded weights: close, not equal.
            assert difference.mean() < 2 and np.percentile(difference, 99) <= 8
        sizes[weights] = os.path.getsize(version / 'generator.tflite')
    assert sizes['float16'] < 0.6 * sizes['float32']


def test_tflite_refuses_paper_mode_with_one_line(trained_workdir, tmp_path):
    result = export(trained_workdir, tmp_path / 'out', '--format=tflite',
                    '--inference_mode=paper')
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        'export.py: error: --format=tflite exports the eval inference mode only (paper mode '
        'runs each image with its own batch statistics); drop --inference_mode or export a '
        'SavedModel.']
    assert not (tmp_path / 'out').exists()


def test_model_card_says_what_a_deployer_needs(exported_model, trained_workdir):
    with open(exported_model / '1' / 'assets.extra' / 'pix2pix.json') as file:
        card = json.load(file)
    assert card['inference_mode'] == 'paper' and card['image_size'] == 64
    assert card['max_sketch_size'] == 4096
    data = card['data']
    assert data['name'] == 'sample' and data['location'] == str(SAMPLE)
    assert 'Non-commercial use only' in data['terms']
    assert card['config']['generator_filters'] == 8


def test_export_command_fills_the_model_card(trained_workdir, tmp_path):
    result = export(trained_workdir, tmp_path / 'models', '--max_sketch_size=2048')
    assert result.returncode == 0, result.stderr[-2000:]
    with open(tmp_path / 'models' / '1' / 'assets.extra' / 'pix2pix.json') as file:
        card = json.load(file)
    training = card['training']
    assert training['step'] == 3
    assert training['checkpoint'] == str(trained_workdir / 'checkpoints' / 'ckpt-3')
    assert training['precision'] == 'float32' and training['precision_resolved'] == 'float32'
    assert training['weights'] == 'trained generator'  # Trained without --ema_decay.
    assert card['model_name'] == trained_workdir.name  # export.py's default: the workdir's
    assert card['max_sketch_size'] == 2048
    validation = card['validation']  # Training evaluated at its last step, 3.
    assert set(validation) >= {'l1', 'psnr', 'ssim'} and 0 < validation['l1'] < 2
    versions = card['versions']
    assert versions['export']['tensorflow'] == tf.__version__
    assert versions['training']['tensorflow'] == tf.__version__


def test_bad_input_gives_one_line_and_no_version(trained_workdir, tmp_path):
    damaged = tmp_path / 'damaged'
    shutil.copytree(trained_workdir, damaged)
    data_file = damaged / 'checkpoints' / 'ckpt-3.data-00000-of-00001'
    data_file.write_bytes(data_file.read_bytes()[:1000])
    cases = {
        'damaged checkpoint': (damaged, [], 'cannot read the generator from checkpoint'),
        'missing checkpoint step': (trained_workdir, ['--checkpoint_step=7'],
                                    'no checkpoint for step 7'),
        'unknown format': (trained_workdir, ['--format=onnx'],
                           'flag --format=onnx: value should be one of '
                           '<saved_model|tflite|keras>'),
        'bad size limit': (trained_workdir, ['--max_sketch_size=0'],
                           '--max_sketch_size=0 must be 1 or more'),
    }
    for case, (workdir, flags, message) in cases.items():
        export_dir = tmp_path / case.replace(' ', '_')
        result = export(workdir, export_dir, *flags)
        assert result.returncode != 0, case
        # Errors found after TensorFlow loaded follow its start-up log lines.
        lines = result.stderr.strip().splitlines()
        assert lines[-1].startswith('export.py: error: ') and message in lines[-1], (case, lines)
        assert 'Traceback' not in result.stderr, case
        assert serving.numeric_versions(str(export_dir)) == [], case
        if export_dir.exists():
            assert os.listdir(export_dir) == [], case  # No temporary folder left either.


def test_a_run_with_ema_exports_its_moving_average(make_config, tmp_path):
    from pix2pix_tf import exports
    from pix2pix_tf import models
    from pix2pix_tf import train_lib

    workdir = str(tmp_path / 'run')
    # A high learning rate, so three steps move the weights well away from their average.
    train_lib.train_and_evaluate(make_config(train_steps=3, ema_decay=0.5, learning_rate=1e-2),
                                 workdir)
    path, _ = exports.export_workdir(workdir, str(tmp_path / 'models'), inference_mode='eval')
    with open(os.path.join(path, 'assets.extra', 'pix2pix.json')) as file:
        assert json.load(file)['training']['weights'] == 'generator moving average'
    sketch = np.full([1, 64, 64, 1], 255, np.uint8)
    sketch[0, 20:40, 30] = 0
    served = tf.saved_model.load(path).signatures['predict_pixels'](
        sketches=tf.constant(sketch))['photos'].numpy()
    outputs = {}
    for use_ema in (True, False):
        generator = checkpoints.restore_generator(workdir, use_ema=use_ema)[1]
        photo = models.generate(generator, tf.cast(sketch, tf.float32) / 127.5 - 1, 'eval')
        outputs[use_ema] = np.round((photo.numpy() + 1) * 127.5).clip(0, 255)
    # The export serves the average, not the trained weights (within rounding).
    assert np.abs(served.astype(float) - outputs[True]).max() <= 1
    assert np.abs(served.astype(float) - outputs[False]).mean() > 2
