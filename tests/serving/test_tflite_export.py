"""TFLite export: the generator.tflite that LiteRT runs matches the SavedModel in eval mode.

The TFLite model is read by LiteRT (`ai_edge_litert`), the interpreter that runs .tflite files
on devices, in a fresh process that imports no TensorFlow.
"""

import json
import os
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import tensorflow as tf

from pix2pix_tf.serving import exports
from pix2pix_tf.serving import signatures
from pix2pix_tf.serving import tflite_export
from pix2pix_tf.training import checkpoints

from conftest import AB_FILES


def val_sketches(size=64) -> np.ndarray:
    """The sample's validation sketches at model size, uint8 [N, size, size, 1]."""
    sketches = [cv2.resize(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)[:, :256], (size, size),
                           interpolation=cv2.INTER_AREA) for path in AB_FILES]
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
    saved_model = signatures.export(generator, 64, 'eval', str(tmp_path / 'saved_model'))
    expected = tf.saved_model.load(saved_model).signatures['predict_pixels'](
        sketches=tf.constant(sketches))['photos'].numpy()

    sizes = {}
    for weights in ('float32', 'float16'):
        path, _ = exports.export_workdir(str(trained_workdir), str(tmp_path / weights), 'tflite',
                                         tflite_weights=weights)
        version = tmp_path / weights / '1'
        assert path == str(version)
        assert sorted(os.listdir(version)) == ['generator.json', 'generator.tflite']
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


def test_the_contract_describes_the_model_size_signature():
    contract = tflite_export.contract(128, 'float16')
    assert contract['input'] == {**contract['input'], 'dtype': 'uint8', 'shape': [1, 128, 128, 1]}
    assert contract['output'] == {**contract['output'], 'dtype': 'uint8',
                                  'shape': [1, 128, 128, 3]}
    assert (contract['inference_mode'], contract['weights']) == ('eval', 'float16')
