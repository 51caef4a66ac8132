"""What one served sketch costs, through every way a user runs a trained generator, next to the
same generator in PyTorch: latency at batch 1, throughput at batch 8, peak RSS, file size.

    python benchmarks/inference.py --torch_python /path/to/torchvenv/bin/python
        [--generators paper,cpu] [--requests 20] [--batches 5] [--skip_compile]

At 256x256, for the paper's generator (64 filters, batch norm, dropout; zappos.flags) and
cpu.flags's (16 filters, instance norm, no dropout), freshly initialised (time, memory and size
do not depend on the weights), in eval inference mode. Every cell runs in a fresh process that
loads the model from its file, as a user's server would, so its peak RSS (VmHWM) is that
path's alone:

- `SavedModel predict_pixels`: tf.saved_model.load + the uint8 signature (TF Serving's path;
  a batch of 8 is one call);
- `translate (Keras)`: `pix2pix_tf.translate` on `load_generator(<.keras file>)` (the Python
  API: pads, resizes and batches in the call);
- `TFLite <quantization>`: LiteRT (`ai_edge_litert`, no TensorFlow in the process) on
  os.cpu_count() threads, none / float16 / dynamic / int8 (int8 calibrated on 8 seeded random
  sketches: speed only); its signature takes one sketch, so a batch of 8 is 8 calls;
- `PyTorch eager` and `PyTorch torch.compile`: the reference's UnetGenerator of the same shape
  (benchmarks/torch_reference.py) in `torch.inference_mode()`, from its saved state_dict,
  uint8 in and out like the others; torch from a separate venv (--torch_python), never a
  dependency of pix2pix_tf. A cell that fails (torch.compile needs a C++ compiler) says so.

Batch-1 latency is the median of --requests calls after two warm-up calls; batch-8 throughput
is images/s over --batches calls after one warm-up. The x columns divide PyTorch eager's time
by each path's (above 1 = faster than PyTorch eager), in the same run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = os.path.join(REPO, 'benchmarks')
SIZE = 256
GENERATORS = {  # name: (filters, norm, dropout rate), as build_generator's arguments.
    'paper': (64, 'batch', 0.5),
    'cpu': (16, 'instance', 0.0),
}
TFLITE = ('none', 'float16', 'dynamic', 'int8')

TIMING = textwrap.dedent('''
    import json, os, resource, statistics, sys, time
    import numpy as np

    def peak_rss_mb():
        # VmHWM starts afresh at exec; ru_maxrss would keep the (TensorFlow-laden) parent's.
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def measure(call, requests, batches, size_bytes, extra=None):
        rng = np.random.default_rng(0)
        def sketches(n):
            return np.where(rng.random([n, 256, 256, 1]) < 0.03, 0, 255).astype(np.uint8)
        one, eight = sketches(1), sketches(8)
        for _ in range(2):
            out = call(one)
        assert out.shape == (1, 256, 256, 3) and out.dtype == np.uint8, (out.shape, out.dtype)
        seconds = []
        for _ in range(requests):
            started = time.perf_counter()
            call(one)
            seconds.append(time.perf_counter() - started)
        assert call(eight).shape == (8, 256, 256, 3)
        started = time.perf_counter()
        for _ in range(batches):
            call(eight)
        result = {'b1_ms': 1000 * statistics.median(seconds),
                  'b8_images_per_s': 8 * batches / (time.perf_counter() - started),
                  'peak_rss_mb': peak_rss_mb(),
                  'size_mb': size_bytes / 2 ** 20}
        print('RESULT ' + json.dumps({**result, **(extra or {})}))
''')

TF_CELL = TIMING + textwrap.dedent('''
    kind, path, requests, batches, repo = sys.argv[1:6]
    requests, batches = int(requests), int(batches)
    def folder_bytes(folder):
        return sum(os.path.getsize(os.path.join(root, name))
                   for root, _, names in os.walk(folder) for name in names)
    if kind == 'savedmodel':
        import tensorflow as tf
        signature = tf.saved_model.load(path).signatures['predict_pixels']
        call = lambda s: signature(sketches=tf.constant(s))['photos'].numpy()
        measure(call, requests, batches, folder_bytes(path))
    elif kind == 'translate':
        sys.path.insert(0, repo)
        import pix2pix_tf
        generator = pix2pix_tf.load_generator(path)
        call = lambda s: pix2pix_tf.translate(s, generator)
        measure(call, requests, batches, os.path.getsize(path))
    else:  # tflite
        from ai_edge_litert.interpreter import Interpreter
        runner = Interpreter(model_path=path, num_threads=os.cpu_count()
                             ).get_signature_runner('serving_default')
        call = lambda s: np.concatenate([runner(sketch=x[np.newaxis])['photo'] for x in s])
        measure(call, requests, batches, os.path.getsize(path))
        assert 'tensorflow' not in sys.modules
''')

TORCH_CELL = TIMING + textwrap.dedent('''
    mode, filters, norm, dropout, requests, batches, benchmarks, folder = sys.argv[1:9]
    sys.path.insert(0, benchmarks)
    import torch
    import torch_reference
    model = torch_reference.unet(int(filters), norm, float(dropout) > 0)
    state = os.path.join(folder, f'unet_{filters}_{norm}.pt')
    if not os.path.exists(state):
        torch.save(model.state_dict(), state)
    model.load_state_dict(torch.load(state))
    model.eval()
    network = torch.compile(model) if mode == 'compile' else model
    def call(sketches):
        with torch.inference_mode():
            x = torch.from_numpy(sketches).permute(0, 3, 1, 2).float() / 127.5 - 1
            photo = network(x)
            return ((photo + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(
                0, 2, 3, 1).numpy()
    measure(call, int(requests), int(batches), os.path.getsize(state),
            {'torch': torch.__version__, 'threads': torch.get_num_threads()})
''')


def run_cell(command: list[str], timeout: float) -> dict | str:
    """The cell's RESULT dict, or a one-line reason it has none."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'})
    except subprocess.TimeoutExpired:
        return f'timed out after {timeout:.0f} s'
    for line in result.stdout.splitlines():
        if line.startswith('RESULT '):
            return json.loads(line[len('RESULT '):])
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return f'failed: {lines[-1][:160] if lines else "no output"}'


def prepare(name: str, folder: str) -> dict:
    """Writes the generator's SavedModel, .keras file and TFLite files; returns their paths."""
    import numpy as np

    from pix2pix_tf.model import networks
    from pix2pix_tf.serving import signatures
    from pix2pix_tf.serving import tflite_export

    filters, norm, dropout = GENERATORS[name]
    generator = networks.build_generator(SIZE, norm, filters, dropout)
    paths = {'savedmodel': signatures.export(generator, SIZE, 'eval',
                                             os.path.join(folder, f'{name}_saved_model')),
             'translate': os.path.join(folder, f'{name}.keras')}
    generator.save(paths['translate'])
    rng = np.random.default_rng(1)
    calibration = [np.where(rng.random([SIZE, SIZE, 1]) < 0.03, 0, 255).astype(np.uint8)
                   for _ in range(8)]
    for quantize in TFLITE:
        paths[quantize] = os.path.join(folder, f'{name}_{quantize}.tflite')
        with open(paths[quantize], 'wb') as file:
            file.write(tflite_export.convert(generator, SIZE, quantize, calibration))
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--torch_python', default=sys.executable,
                        help='a Python that imports torch (a separate venv)')
    parser.add_argument('--generators', default='paper,cpu')
    parser.add_argument('--requests', type=int, default=20)
    parser.add_argument('--batches', type=int, default=5)
    parser.add_argument('--skip_compile', action='store_true', help='no torch.compile cells')
    parser.add_argument('--timeout', type=float, default=600, help='seconds per cell')
    args = parser.parse_args()
    names = [name for name in args.generators.split(',') if name]
    unknown = sorted(set(names) - set(GENERATORS))
    if unknown:
        parser.error(f'unknown --generators {",".join(unknown)}; use {",".join(GENERATORS)}')
    has_torch = subprocess.run([args.torch_python, '-c', 'import torch'],
                               capture_output=True).returncode == 0
    if not has_torch:
        print(f'{args.torch_python} cannot import torch: the PyTorch cells are skipped '
              f'(python3 -m venv ~/torchvenv && ~/torchvenv/bin/pip install torch numpy).')
    sys.path.insert(0, REPO)
    import tensorflow as tf

    tables = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            paths = prepare(name, folder)
            filters, norm, dropout = GENERATORS[name]
            cells = {}
            if has_torch:
                for mode in ('eager',) + (() if args.skip_compile else ('compile',)):
                    cells[f'PyTorch {"torch.compile" if mode == "compile" else "eager"}'] = [
                        args.torch_python, '-c', TORCH_CELL, mode, str(filters), norm,
                        str(dropout), str(args.requests), str(args.batches), BENCHMARKS, folder]
            for kind, label in (('savedmodel', 'SavedModel predict_pixels'),
                                ('translate', 'translate (Keras .keras)')):
                cells[label] = [sys.executable, '-c', TF_CELL, kind, paths[kind],
                                str(args.requests), str(args.batches), REPO]
            for quantize in TFLITE:
                cells[f'TFLite --quantize={quantize} (LiteRT)'] = [
                    sys.executable, '-c', TF_CELL, 'tflite', paths[quantize],
                    str(args.requests), str(args.batches), REPO]
            tables[name] = {}
            for label, command in cells.items():
                print(f'{name}: {label} ...', flush=True)
                tables[name][label] = run_cell(command, args.timeout)

    print(f'\n{SIZE}x{SIZE}, eval inference mode, untrained weights, {os.cpu_count()} CPU '
          f'cores, TensorFlow {tf.__version__}; batch 1: median of {args.requests} calls; '
          f'batch 8: {args.batches} calls')
    for name in names:
        filters, norm, dropout = GENERATORS[name]
        rows = tables[name]
        eager = rows.get('PyTorch eager')
        eager = eager if isinstance(eager, dict) else None
        print(f'\n{name} generator ({filters} filters, {norm} norm, dropout {dropout})\n'
              '| path | batch 1 ms | x PyTorch eager | batch 8 images/s | x PyTorch eager | '
              'peak RSS MB | file MB |\n|---|---|---|---|---|---|---|')
        for label, cell in rows.items():
            if not isinstance(cell, dict):
                print(f'| {label} | {cell} | | | | | |')
                continue
            x1 = f'{eager["b1_ms"] / cell["b1_ms"]:.2f}x' if eager else '-'
            x8 = f'{cell["b8_images_per_s"] / eager["b8_images_per_s"]:.2f}x' if eager else '-'
            print(f'| {label} | {cell["b1_ms"]:.1f} | {x1} | {cell["b8_images_per_s"]:.2f} | '
                  f'{x8} | {cell["peak_rss_mb"]:.0f} | {cell["size_mb"]:.1f} |')
        if eager:
            print(f'(PyTorch {eager["torch"]}, {eager["threads"]} threads)')


if __name__ == '__main__':
    main()
