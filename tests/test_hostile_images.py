"""Hostile image bytes (issue 23) through every place that decodes a user's image.

The corpus (tests/hostile_images.py, over 1,000 seeded cases) goes through pix2pix-predict's
library path, the demo's uploads over real HTTP, the SavedModel's signature (TF2 loader, and
TF Serving's session loader for a sample), a training folder's header check and decoding, and
the TFDS builder's per-file functions. Every case must end in a result or a one-line error or
skip, within CASE_SECONDS, with the process's peak memory growing at most MEMORY_GROWTH; a
valid image must work; a declared size over a path's limit must be refused with the limit's
message (before decoding: the corpus's zip-bomb PNG and 3000-frame GIF would blow the memory
bound otherwise).
"""

import http.client
import json
import os
import re
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.data import dataset_prep
from pix2pix_tf.data import image_files
from pix2pix_tf.data import image_headers
from pix2pix_tf.data import record_readers
from pix2pix_tf.serving import client
from pix2pix_tf.serving import demo_server
from pix2pix_tf.serving import predictions

import hostile_images
from serving_stand_ins import SessionModel

CASE_SECONDS = 10.0
MEMORY_GROWTH = 1024 * 2 ** 20  # Bytes of peak RSS one path's run may add.
MODEL_LIMIT = 4096  # The exported tiny model's max_sketch_size (the default).
JPEG_MAX_DIMENSION = 65500  # libjpeg's largest side (jmorecfg.h).
# What each path's size-limit refusal says (client, demo, signature, image_files, pipeline).
LIMIT_MESSAGE = re.compile(r'larger than|limit|too large|too many frames|frames hold|'
                           r'Sketch too large')


@pytest.fixture(scope='module')
def cases():
    started = time.perf_counter()
    corpus = hostile_images.corpus()
    assert time.perf_counter() - started < 30  # Built in seconds (usually about 1.5 s).
    assert len(corpus) >= 1000
    return corpus


@pytest.fixture(scope='module')
def case_files(cases, tmp_path_factory):
    """{path: case}, each case written as <index>_<name>.<its format's extension>."""
    folder = tmp_path_factory.mktemp('hostile')
    files = {}
    for index, case in enumerate(cases):
        path = folder / f'{index:04d}_{case.name}.{case.extension}'
        path.write_bytes(case.data)
        files[str(path)] = case
    return files


def over_limit(case, max_side: int) -> bool:
    """Whether the case's declared size is over a path's limit (MAX_PIXELS always holds)."""
    if case.declared is None:
        return False
    height, width, pixels = case.declared
    return (max(height, width) > min(max_side, image_headers.MAX_SIDE)
            or pixels > min(image_headers.MAX_PIXELS, max_side ** 2))


def limit_refusal(case) -> re.Pattern:
    """What refusing an over-limit case says: the limit's message, or a refusal that also
    comes before any decoding."""
    if case.extension == 'tif':  # Refused by its format where a path reads no TIFF.
        return re.compile(f'{LIMIT_MESSAGE.pattern}|not a JPEG|not an image|'
                          f'Unknown image file format')
    if case.extension == 'jpg' and max(case.declared[:2]) > JPEG_MAX_DIMENSION:
        # libjpeg's header read (tf.image.extract_jpeg_shape) refuses it first.
        return re.compile(f'{LIMIT_MESSAGE.pattern}|Invalid JPEG data')
    return LIMIT_MESSAGE


class PeakMemory:
    """Peak RSS growth (bytes) of this process over a `with` block (VmHWM, reset first)."""

    def __enter__(self):
        try:
            with open('/proc/self/clear_refs', 'w') as file:
                file.write('5')  # Resets VmHWM to the current RSS (Linux 4.0+).
        except OSError:
            pass
        self.start = self._status('VmRSS')
        return self

    def __exit__(self, *exc_info):
        self.growth = self._status('VmHWM') - self.start

    @staticmethod
    def _status(key: str) -> int:
        with open('/proc/self/status') as file:
            for line in file:
                if line.startswith(key + ':'):
                    return int(line.split()[1]) * 1024
        raise AssertionError(f'no {key} in /proc/self/status')


def check_outcomes(cases, outcomes: dict, seconds: dict, memory: PeakMemory, max_side: int,
                   valid_must_work: bool = True, usable=lambda case: True):
    """outcomes: {case name: ('ok', None) or ('error', message)}; asserts the module's rules."""
    problems = []
    for case in cases:
        if case.name not in outcomes:
            problems.append(f'{case.name}: no outcome')
            continue
        kind, message = outcomes[case.name]
        if kind == 'error' and (not message or '\n' in message.strip()
                                or 'Traceback' in message):
            problems.append(f'{case.name}: not a one-line error: {message!r}')
        if over_limit(case, max_side) and (kind == 'ok'
                                           or not limit_refusal(case).search(message)):
            problems.append(f'{case.name}: over the limit, yet {kind}: {message}')
        if case.expect == 'valid' and valid_must_work and usable(case) and kind != 'ok':
            problems.append(f'{case.name}: valid, yet refused: {message}')
        if case.expect == 'refuse' and kind == 'ok':
            problems.append(f'{case.name}: should be refused')
        if seconds.get(case.name, 0.0) > CASE_SECONDS:
            problems.append(f'{case.name}: took {seconds[case.name]:.1f} s')
    assert not problems, f'{len(problems)} problems:\n' + '\n'.join(problems[:40])
    assert memory.growth < MEMORY_GROWTH, f'peak RSS grew {memory.growth / 2 ** 20:.0f} MiB'
    # The run must have exercised both outcomes, and refused the huge cases by their size.
    kinds = {kind for kind, _ in outcomes.values()}
    assert kinds == {'ok', 'error'}


class TimedStream:
    """A stream for predictions.run that notes when each line arrives."""

    def __init__(self):
        self.lines = []

    def write(self, text):
        for line in text.splitlines():
            self.lines.append((time.perf_counter(), line))

    def flush(self):
        pass


def test_predict_library_path(case_files, exported_model, tmp_path):
    backend = client.LocalBackend(str(exported_model))
    assert backend.max_sketch_size == MODEL_LIMIT
    paths = list(case_files)
    stream = TimedStream()
    with PeakMemory() as memory:
        started = time.perf_counter()
        written, skipped = predictions.run(paths, backend, str(tmp_path / 'out'), batch_size=1,
                                           stream=stream)
    outcomes, seconds = {}, {}
    names = predictions.output_names(paths, str(tmp_path / 'out'))
    by_output = {os.path.join(tmp_path / 'out', name): case_files[path].name
                 for path, name in zip(paths, names)}
    for out in written:
        outcomes[by_output[out]] = ('ok', None)
    last = started
    for moment, line in stream.lines:
        found = re.match(r'skipped (.+?\.\w+): (.*)$', line)
        if found:
            outcomes[case_files[found.group(1)].name] = ('error', found.group(2))
        elif re.fullmatch(r'(\d+)/\d+ images', line):
            path = paths[int(line.split('/')[0]) - 1]
            seconds[case_files[path].name] = moment - last
            last = moment
        else:
            assert re.fullmatch(r'\d+ of \d+ inputs skipped', line), line
    assert skipped == len(paths) - len(written)
    check_outcomes(case_files.values(), outcomes, seconds, memory, MODEL_LIMIT)


@pytest.fixture(scope='module')
def demo(exported_model):
    server = demo_server.make_server(client.LocalBackend(str(exported_model)), port=0,
                                     max_upload_mb=16, max_queue=2, examples=[])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize('endpoint', ['/predict', '/sketch'])
def test_demo_uploads(demo, cases, endpoint):
    host, port = demo.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=60)
    outcomes, seconds = {}, {}
    with PeakMemory() as memory:
        for case in cases:
            started = time.perf_counter()
            connection.request('POST', endpoint, body=case.data,
                               headers={'Content-Type': 'application/octet-stream'})
            response = connection.getresponse()
            body = response.read()
            seconds[case.name] = time.perf_counter() - started
            if response.status == 200:
                assert response.getheader('Content-Type') == 'image/png', case.name
                assert body.startswith(b'\x89PNG'), case.name
                outcomes[case.name] = ('ok', None)
            else:
                message = json.loads(body)['error']
                assert response.status == 400, f'{case.name}: {response.status} {message}'
                outcomes[case.name] = ('error', message)
    connection.close()
    # /sketch needs a photo of at least edges.MIN_SIZE; every valid case is 64x128 or more.
    check_outcomes(cases, outcomes, seconds, memory, MODEL_LIMIT)


def test_signature_called_directly(exported_model, cases):
    serve = tf.saved_model.load(str(exported_model / '1')).signatures['serving_default']
    outcomes, seconds = {}, {}
    with PeakMemory() as memory:
        for case in cases:
            started = time.perf_counter()
            try:
                png = serve(images=tf.constant([case.data], tf.string))['images_bytes'].numpy()[0]
                assert png.startswith(b'\x89PNG'), case.name
                outcomes[case.name] = ('ok', None)
            except tf.errors.InvalidArgumentError as error:
                outcomes[case.name] = ('error', client.first_line(error.message))
            seconds[case.name] = time.perf_counter() - started
    check_outcomes(cases, outcomes, seconds, memory, MODEL_LIMIT)
    # TF Serving's loader on a sample: the huge of each kind, the bombs, the valid ones.
    sample = [case for case in cases if case.expect == 'valid' or 'bomb' in case.name
              or case.name.endswith(('_65535x65535', '_65535x65535_both', '_frames',
                                     '_block_flood'))]
    model = SessionModel(str(exported_model / '1'))
    try:
        for case in sample:
            try:
                model.run('serving_default', {'images': np.array([case.data], object)})
                assert outcomes[case.name][0] == 'ok', case.name
            except tf.errors.InvalidArgumentError as error:
                assert outcomes[case.name][0] == 'error', case.name
                if over_limit(case, MODEL_LIMIT):
                    assert limit_refusal(case).search(error.message), case.name
    finally:
        model.close()
    assert len(sample) > 20


def test_training_folder_check_and_decode(case_files):
    decode = tf.function(record_readers.decode_ab_pair,
                         input_signature=[tf.TensorSpec([], tf.string)])
    outcomes, seconds = {}, {}
    with PeakMemory() as memory:
        started = time.perf_counter()
        usable, skipped = image_files.usable_files(list(case_files), ab_pair=True)
        header_seconds = (time.perf_counter() - started) / len(case_files)
        for path, reason in skipped:
            outcomes[case_files[path].name] = ('error', reason)
            seconds[case_files[path].name] = header_seconds
        for path in usable:
            case = case_files[path]
            started = time.perf_counter()
            try:
                sketch, photo = decode(tf.constant(case.data, tf.string))
                assert sketch.shape[-1] == 1 and photo.shape[-1] == 3
                outcomes[case.name] = ('ok', None)
            except tf.errors.InvalidArgumentError as error:
                outcomes[case.name] = ('error', client.first_line(error.message))
            seconds[case.name] = header_seconds + time.perf_counter() - started
        # The pipeline's own check, for a file changed after the folder's check: every
        # over-limit case whose header TensorFlow reads is refused before decoding (a JPEG
        # cut short after its frame header fails in extract_jpeg_shape, before that).
        for case in case_files.values():
            if over_limit(case, image_headers.MAX_SIDE) and image_headers.header(case.data):
                with pytest.raises(tf.errors.InvalidArgumentError,
                                   match='Image too large|Invalid JPEG data'):
                    decode(tf.constant(case.data, tf.string))
    check_outcomes(case_files.values(), outcomes, seconds, memory, image_headers.MAX_SIDE,
                   usable=lambda case: case.extension != 'tif')


@pytest.mark.parametrize('make_example', [dataset_prep.photo_example, dataset_prep.ab_example])
def test_dataset_builder_functions(cases, make_example):
    seconds = {}

    def timed(data):
        started = time.perf_counter()
        try:
            return make_example(data, 64)
        finally:
            seconds[by_data[data]] = time.perf_counter() - started

    by_data = {case.data: case.name for case in cases}
    unique = {case.data: case for case in cases}.values()  # Identical bytes are one file.
    report = dataset_prep.SkipReport()
    with PeakMemory() as memory:
        examples = dict(dataset_prep.process_files(
            ((case.name, lambda data=case.data: data) for case in unique), timed, report,
            workers=2))
    outcomes = {name: ('ok', None) for name in examples}
    for reason, names in report.skipped.items():
        outcomes.update((name, ('error', reason)) for name in names)
    for example in examples.values():
        assert set(example) == {'sketch', 'photo'}
    seconds = {name: seconds.get(data_name, 0.0) for name, data_name in
               ((case.name, by_data[case.data]) for case in unique)}
    check_outcomes(unique, outcomes, seconds, memory, image_headers.MAX_SIDE)
    summary = report.summary('hostile')
    assert 'too large (over 16384 pixels a side' in summary
    assert len(summary.splitlines()) < 30  # Reasons group: no line per declared size.
