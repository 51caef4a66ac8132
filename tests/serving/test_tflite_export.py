"""TFLite export: the generator.tflite that LiteRT runs matches the SavedModel in eval mode, in
every quantization, and the model card's L1 change is what LiteRT gives.

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
import pytest
import tensorflow as tf

from pix2pix_tf import config as config_lib
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


def test_every_quantization_runs_in_litert_near_the_saved_model(trained_workdir, tmp_path):
    sketches = val_sketches()
    _, generator, _ = checkpoints.restore_generator(str(trained_workdir))
    saved_model = signatures.export(generator, 64, 'eval', str(tmp_path / 'saved_model'))
    expected = tf.saved_model.load(saved_model).signatures['predict_pixels'](
        sketches=tf.constant(sketches))['photos'].numpy()

    sizes, cards = {}, {}
    for quantize in tflite_export.QUANTIZATIONS:
        path, _ = exports.export_workdir(str(trained_workdir), str(tmp_path / quantize),
                                         'tflite', quantize=quantize)
        version = tmp_path / quantize / '1'
        assert path == str(version)
        assert sorted(os.listdir(version)) == ['generator.json', 'generator.tflite']
        with open(version / 'generator.json') as file:
            contract = json.load(file)
        assert contract['input'] == {**contract['input'], 'dtype': 'uint8',
                                     'shape': [1, 64, 64, 1]}
        assert contract['output']['shape'] == [1, 64, 64, 3]
        assert contract['inference_mode'] == 'eval' and contract['quantization'] == quantize
        assert contract['model_card']['training']['step'] == 3
        cards[quantize] = contract['model_card']['quantization']
        photos = run_litert(version, sketches, tmp_path)
        assert photos.shape == expected.shape and photos.dtype == np.uint8
        difference = np.abs(photos.astype(int) - expected.astype(int))
        if quantize == 'none':
            assert difference.max() <= 2
        elif quantize == 'float16':  # Rounded weights: close, not equal.
            assert difference.mean() < 2 and np.percentile(difference, 99) <= 8
        else:  # 8-bit weights (and activations): further, still the same picture.
            assert difference.mean() < 6 and np.percentile(difference, 99) <= 40
        sizes[quantize] = os.path.getsize(version / 'generator.tflite')
    assert sizes['float16'] < 0.6 * sizes['none']
    for quantize in ('dynamic', 'int8', 'int16x8'):
        assert sizes[quantize] < 0.4 * sizes['none'], quantize

    assert cards['none'] == {'mode': 'none', 'calibration': None, 'check': None}
    assert cards['dynamic']['calibration'] is None
    calibration = cards['int8']['calibration']
    assert calibration['examples'] == 90  # The sample's whole training split (< 200).
    assert 'train split' in calibration['source']
    # The card's L1 change is what LiteRT gives on the validation pairs it names.
    config = config_lib.read_workdir_config(str(trained_workdir))
    pairs = exports.split_pairs(config, 'eval', 100)
    real = np.stack([photo for _, photo in pairs])
    assert cards['int16x8']['calibration'] == calibration
    for quantize in ('float16', 'dynamic', 'int8', 'int16x8'):
        check = cards[quantize]['check']
        assert check['examples'] == len(pairs) == 10
        photos = run_litert(tmp_path / quantize / '1', np.stack([s for s, _ in pairs]), tmp_path)
        assert abs(tflite_export.l1(photos, real) - check['l1_quantized']) < 1e-4
        assert check['l1_change_percent'] == pytest.approx(
            100 * (check['l1_quantized'] / check['l1_float32'] - 1), abs=0.02)


def test_int8_computes_every_convolution_in_int8(trained_workdir):
    _, generator, _ = checkpoints.restore_generator(str(trained_workdir))
    calibration = [sketch for sketch in val_sketches()]
    interpreter = tflite_export.interpreter(tflite_export.convert(generator, 64, 'int8',
                                                                  calibration))
    tensors = {detail['index']: detail for detail in interpreter.get_tensor_details()}
    convolutions = [op for op in interpreter._get_ops_details()
                    if op['op_name'] in ('CONV_2D', 'TRANSPOSE_CONV')]
    assert len(convolutions) >= 10  # 6 down, 6 up at 64x64.
    for op in convolutions:
        weights = [tensors[index] for index in op['inputs'] if index >= 0
                   and len(tensors[index]['shape']) == 4]
        assert all(tensor['dtype'] == np.int8 for tensor in weights), op
        assert all(tensors[index]['dtype'] == np.int8 for index in op['outputs']), op
    dynamic = tflite_export.interpreter(tflite_export.convert(generator, 64, 'dynamic'))
    floats = [detail for detail in dynamic.get_tensor_details() if detail['dtype'] == np.float32]
    assert len(floats) > len(convolutions)  # Dynamic range keeps float activations.


def test_float_exports_run_the_twin_and_quantized_ones_the_stock_graph(trained_workdir):
    """none/float16 take the inference twin (no TRANSPOSE_CONV; DEPTH_TO_SPACE joins the
    phases); dynamic keeps the stock layer, whose quantized TRANSPOSE_CONV LiteRT runs faster."""
    _, generator, _ = checkpoints.restore_generator(str(trained_workdir))

    def op_names(quantize):
        interpreter = tflite_export.interpreter(tflite_export.convert(generator, 64, quantize))
        return [op['op_name'] for op in interpreter._get_ops_details()]

    for quantize in tflite_export.TWIN_QUANTIZATIONS:
        names = op_names(quantize)
        assert 'TRANSPOSE_CONV' not in names and 'DEPTH_TO_SPACE' in names, (quantize, names)
    names = op_names('dynamic')
    assert 'TRANSPOSE_CONV' in names and 'DEPTH_TO_SPACE' not in names, names


def test_bad_quantization_requests_fail_clearly_and_write_nothing(trained_workdir, tmp_path):
    _, generator, _ = checkpoints.restore_generator(str(trained_workdir))
    with pytest.raises(ValueError, match='int8 quantization needs calibration sketches'):
        tflite_export.convert(generator, 64, 'int8')
    with pytest.raises(ValueError, match=r'must be \[64, 64, 1\]'):
        tflite_export.convert(generator, 64, 'int8', [np.zeros([32, 32, 1], np.uint8)])
    with pytest.raises(ValueError, match='quantize must be one of'):
        tflite_export.convert(generator, 64, 'int4')
    with pytest.raises(config_lib.ConfigError, match='applies to --format=tflite only'):
        exports.export_workdir(str(trained_workdir), str(tmp_path / 'sm'), quantize='int8')

    # A workdir moved away from its training data: int8 cannot calibrate, dynamic needs no data.
    moved = tmp_path / 'moved'
    shutil.copytree(trained_workdir, moved)
    with open(moved / 'config.json') as file:
        values = json.load(file)
    values['dataset'] = str(tmp_path / 'gone')
    with open(moved / 'config.json', 'w') as file:
        json.dump(values, file)
    with pytest.raises(config_lib.ConfigError, match=r'calibrates on the training split .* '
                                                     r'--quantize=dynamic \(no data needed\)'):
        exports.export_workdir(str(moved), str(tmp_path / 'int8'), 'tflite', quantize='int8')
    assert not (tmp_path / 'int8').exists()
    exports.export_workdir(str(moved), str(tmp_path / 'dynamic'), 'tflite', quantize='dynamic')
    with open(tmp_path / 'dynamic' / '1' / 'generator.json') as file:
        assert json.load(file)['model_card']['quantization']['check'] is None


def test_the_command_offers_the_library_quantizations():
    from pix2pix_tf.commands import export
    assert export.QUANTIZATIONS == tflite_export.QUANTIZATIONS


def test_the_contract_describes_the_model_size_signature():
    contract = tflite_export.contract(128, 'float16')
    assert (contract['quantization'], contract['weights']) == ('float16', 'float16')
    assert contract['input'] == {**contract['input'], 'dtype': 'uint8', 'shape': [1, 128, 128, 1]}
    assert contract['output'] == {**contract['output'], 'dtype': 'uint8',
                                  'shape': [1, 128, 128, 3]}
    assert contract['inference_mode'] == 'eval' and contract['arithmetic'] == 'float32'
    assert tflite_export.contract(128, 'int8')['arithmetic'] == 'int8'
