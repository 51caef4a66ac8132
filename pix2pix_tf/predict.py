"""Run your own sketches (or photos) through an exported model, locally or on TF Serving.

    python -m pix2pix_tf.predict my_sketch.png --model saved_models/sample
    pix2pix-predict 'drawings/*.png' --model saved_models/sample/3 --grid --output_dir out
    pix2pix-predict shoe_photo.jpg --from_photo --model saved_models/sample --grid
    pix2pix-predict drawings/ --server http://localhost:8501/v1/models/sample
    pix2pix-predict drawings/ --server localhost:8500/sample [--signature predict_pixels]

Inputs are files, folders (their images, sorted) or glob patterns: sketches drawn dark on white,
any size, PNG/JPEG/BMP/GIF. For each input it writes `<name>.png`, the generated photo at the
input's size; `--from_photo` first turns each input photo into a sketch with
`pix2pix_tf.sketch` (also written, as `<name>_sketch.png`); `--grid` adds `grid.png`, one row per
input: [photo |] sketch | generated photo.

Backends (`pix2pix_tf/client.py`): `--model` loads a SavedModel in this process (a folder of
numbered versions picks the highest); `--server` sends the images to TF Serving: an
`http://host:8501/v1/models/<name>` URL uses its REST predict API (`<url>:predict`, images sent
as {"b64": ...}); a `host:8500/<name>[/<version>]` address uses its gRPC PredictionService
(needs `pip install -e ".[grpc]"`), on `serving_default` or, with `--signature predict_pixels`,
on uint8 pixels.
"""

import argparse
import glob
import os
import sys

import cv2
import numpy as np

from pix2pix_tf import client
from pix2pix_tf import sketch as sketch_lib
from pix2pix_tf.client import PredictError

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.gif')
GRID_HEIGHT = 256


def expand_inputs(inputs: list[str]) -> list[str]:
    """Files, folders (their images, sorted) and glob patterns -> image paths, in order."""
    paths = []
    for item in inputs:
        if os.path.isdir(item):
            paths += sorted(os.path.join(item, name) for name in os.listdir(item)
                            if name.lower().endswith(IMAGE_EXTENSIONS))
        elif os.path.isfile(item):
            paths.append(item)
        else:
            matches = sorted(glob.glob(item))
            if not matches:
                raise PredictError(f'{item}: no such file or folder, and no file matches it.')
            paths += [path for path in matches if os.path.isfile(path)]
    if not paths:
        raise PredictError(f'no images in {", ".join(inputs)} ({"/".join(IMAGE_EXTENSIONS)}).')
    return paths


def _grid_row(tiles: list[np.ndarray]) -> np.ndarray:
    row = []
    for tile in tiles:
        tile = tile if tile.ndim == 3 else cv2.cvtColor(tile, cv2.COLOR_GRAY2BGR)
        width = max(1, round(tile.shape[1] * GRID_HEIGHT / tile.shape[0]))
        row.append(cv2.resize(tile, (width, GRID_HEIGHT), interpolation=cv2.INTER_AREA))
    return np.concatenate(row, axis=1)


def _write_grid(rows: list[np.ndarray], path: str) -> None:
    width = max(row.shape[1] for row in rows)
    padded = [cv2.copyMakeBorder(row, 0, 0, 0, width - row.shape[1], cv2.BORDER_CONSTANT,
                                 value=(255, 255, 255)) for row in rows]
    cv2.imwrite(path, np.concatenate(padded, axis=0))


def run(inputs: list[str], backend, output_dir: str, grid: bool = False,
        from_photo: bool = False, batch_size: int = 8, stream=sys.stderr) -> list[str]:
    """Predicts every input; returns the paths of the generated photos."""
    paths = expand_inputs(inputs)
    os.makedirs(output_dir, exist_ok=True)
    interactive = hasattr(stream, 'isatty') and stream.isatty()
    written, grid_rows, skipped = [], [], 0
    for start in range(0, len(paths), batch_size):
        batch, sketches, originals = [], [], []
        for path in paths[start:start + batch_size]:
            with open(path, 'rb') as file:
                data = file.read()
            name = os.path.splitext(os.path.basename(path))[0]
            if from_photo:
                photo = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                if photo is None:
                    stream.write(f'skipped {path}: not an image\n')
                    skipped += 1
                    continue
                sketch = sketch_lib.photo_to_sketch(cv2.cvtColor(photo, cv2.COLOR_BGR2RGB))
                data = cv2.imencode('.png', sketch)[1].tobytes()
                cv2.imwrite(os.path.join(output_dir, f'{name}_sketch.png'), sketch)
                originals.append(photo)
            else:
                sketch = client.read_gray(data)
                if sketch is None:
                    stream.write(f'skipped {path}: not an image\n')
                    skipped += 1
                    continue
            batch.append((name, data))
            sketches.append(sketch)
        if not batch:
            continue
        results = backend.predict([data for _, data in batch])
        for index, ((name, _), png) in enumerate(zip(batch, results)):
            out = os.path.join(output_dir, f'{name}.png')
            with open(out, 'wb') as file:
                file.write(png)
            written.append(out)
            if grid:
                photo = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
                tiles = ([originals[index]] if from_photo else []) + [sketches[index], photo]
                grid_rows.append(_grid_row(tiles))
        done = min(start + batch_size, len(paths))
        if len(paths) > 1:
            stream.write(f'\r{done}/{len(paths)} images' if interactive else
                         f'{done}/{len(paths)} images\n')
            stream.flush()
    if interactive and len(paths) > 1:
        stream.write('\n')
    if grid and grid_rows:
        _write_grid(grid_rows, os.path.join(output_dir, 'grid.png'))
    if skipped:
        stream.write(f'{skipped} of {len(paths)} inputs skipped (not images)\n')
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(prog='pix2pix-predict', description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('inputs', nargs='+', help='image files, folders or glob patterns')
    backend = parser.add_mutually_exclusive_group(required=True)
    backend.add_argument('--model', help='SavedModel folder, or a folder of numbered versions')
    backend.add_argument('--server', help='TF Serving: REST URL http://host:8501/v1/models/'
                         '<name>, or gRPC address host:8500/<name>[/<version>]; e.g. '
                         'http://localhost:8501/v1/models/sample')
    parser.add_argument('--signature', default='serving_default', choices=client.SIGNATURES,
                        help='with a gRPC --server: serving_default (encoded images) or '
                        'predict_pixels (uint8 pixels) (default: %(default)s)')
    parser.add_argument('--output_dir', default='predictions', help='where outputs go')
    parser.add_argument('--grid', action='store_true', help='also write grid.png')
    parser.add_argument('--from_photo', action='store_true',
                        help='inputs are photos: sketch them first (pix2pix_tf.sketch)')
    parser.add_argument('--batch_size', type=int, default=8, help='images per request')
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error('--batch_size must be at least 1')
    try:
        expand_inputs(args.inputs)  # Fail on a typo before loading TensorFlow.
        chosen = client.make_backend(args.model, args.server, args.signature)
        written = run(args.inputs, chosen, args.output_dir, args.grid, args.from_photo,
                      args.batch_size)
    except PredictError as error:
        sys.exit(f'pix2pix-predict: error: {error}')
    print(f'{len(written)} photos written to {args.output_dir}'
          + (f' (and {os.path.join(args.output_dir, "grid.png")})' if args.grid else ''))


if __name__ == '__main__':
    main()
