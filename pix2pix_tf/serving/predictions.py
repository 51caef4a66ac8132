"""Run a list of sketches (or photos) through a model backend and write the photos: the library
side of `pix2pix-predict` (pix2pix_tf/commands/predict.py).

Inputs are files, folders (their images, sorted) or glob patterns: sketches drawn dark on white,
any size, PNG/JPEG/BMP/GIF. For each input `run` writes `<name>.png`, the generated photo at the
input's size; `from_photo` first turns each input photo into a sketch with `pix2pix_tf.data.edges`
(also written, as `<name>_sketch.png`); `grid` adds `grid.png`, one row per input:
[photo |] sketch | generated photo. A backend is any `pix2pix_tf.serving.client` backend (a local
SavedModel, TF Serving REST or gRPC).
"""

import glob
import os
import sys

import cv2
import numpy as np

from pix2pix_tf.data import edges
from pix2pix_tf.data import image_files
from pix2pix_tf.data.image_files import IMAGE_EXTENSIONS
from pix2pix_tf.serving import client
from pix2pix_tf.serving.client import PredictError

GRID_HEIGHT = 256
GRID_FILE = 'grid.png'


def expand_inputs(inputs: list[str]) -> list[str]:
    """Files, folders (their images, sorted) and glob patterns -> image paths, in order."""
    paths = []
    for item in inputs:
        if os.path.isdir(item):
            paths += image_files.list_images(item)
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


def output_names(paths: list[str], output_dir: str, from_photo: bool = False,
                 grid: bool = False) -> list[str]:
    """One output file name per input: `<name>.png`, or `<name>_<ext>.png` when that would
    overwrite an input file (also a sketch written by --from_photo) or another input's output
    (`a.jpg` and `a.png`) or grid.png; a number is added if still taken."""
    inputs = {os.path.realpath(path) for path in paths}
    taken, names = {GRID_FILE} if grid else set(), []
    for path in paths:
        stem, extension = os.path.splitext(os.path.basename(path))
        candidates = [f'{stem}.png', f'{stem}_{extension.lstrip(".").lower() or "img"}.png']
        candidates += [f'{stem}_{index}.png' for index in range(2, len(paths) + 3)]
        for name in candidates:
            produced = [name] + ([name[:-4] + '_sketch.png'] if from_photo else [])
            if not any(os.path.realpath(os.path.join(output_dir, file)) in inputs
                       or file in taken for file in produced):
                taken.update(produced)
                names.append(name)
                break
    return names


def _prepare(path: str, from_photo: bool, backend):
    """(data to send, sketch for the grid, original photo or None); RejectedInput if unusable."""
    with open(path, 'rb') as file:
        data = file.read()
    if from_photo:
        try:
            photo = image_files.decode(data)[0]
        except image_files.UnreadableImage as error:
            raise client.RejectedInput(str(error)) from None
        sketch = edges.photo_to_sketch(cv2.cvtColor(photo, cv2.COLOR_BGR2RGB))
        return cv2.imencode('.png', sketch)[1].tobytes(), sketch, photo
    client.check_input(data, getattr(backend, 'max_sketch_size', None))
    sketch = image_files.decode_gray(data)
    if sketch is None:
        raise client.RejectedInput('not a readable image')
    return data, sketch, None


def _predict_each(backend, items: list, stream) -> list:
    """backend.predict on a batch; if the model refuses it, image by image (None = refused)."""
    try:
        return backend.predict([data for _, data, _, _ in items])
    except client.RejectedInput:
        results = []
        for path, data, _, _ in items:
            try:
                results.append(backend.predict([data])[0])
            except client.RejectedInput as error:
                stream.write(f'skipped {path}: {error}\n')
                results.append(None)
        return results


def run(inputs: list[str], backend, output_dir: str, grid: bool = False,
        from_photo: bool = False, batch_size: int = 8,
        stream=sys.stderr) -> tuple[list[str], int]:
    """Predicts every input; returns (paths of the generated photos, inputs skipped).

    An input the model cannot read (not an image, an unsupported format, over the model's
    size limit) is skipped with a message naming it; the others are still written.
    """
    paths = expand_inputs(inputs)
    names = output_names(paths, output_dir, from_photo, grid)
    if grid and os.path.realpath(os.path.join(output_dir, GRID_FILE)) in map(os.path.realpath,
                                                                            paths):
        raise PredictError(f'{os.path.join(output_dir, GRID_FILE)} is one of the inputs; pass '
                           f'another --output_dir to write the grid.')
    os.makedirs(output_dir, exist_ok=True)
    interactive = hasattr(stream, 'isatty') and stream.isatty()
    written, grid_rows, skipped = [], [], 0
    for start in range(0, len(paths), batch_size):
        items = []  # (path, data, sketch, photo or None, output name)
        for path, name in zip(paths[start:start + batch_size], names[start:start + batch_size]):
            try:
                items.append((path, *_prepare(path, from_photo, backend), name))
            except (client.RejectedInput, OSError) as error:
                stream.write(f'skipped {path}: {error}\n')
                skipped += 1
        results = _predict_each(backend, [item[:4] for item in items], stream) if items else []
        for (path, _, sketch, photo, name), png in zip(items, results):
            if png is None:
                skipped += 1
                continue
            if from_photo:
                cv2.imwrite(os.path.join(output_dir, name[:-4] + '_sketch.png'), sketch)
            out = os.path.join(output_dir, name)
            with open(out, 'wb') as file:
                file.write(png)
            written.append(out)
            if grid:
                generated = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
                grid_rows.append(_grid_row(([photo] if from_photo else []) + [sketch, generated]))
        done = min(start + batch_size, len(paths))
        if len(paths) > 1:
            stream.write(f'\r{done}/{len(paths)} images' if interactive else
                         f'{done}/{len(paths)} images\n')
            stream.flush()
    if interactive and len(paths) > 1:
        stream.write('\n')
    if grid and grid_rows:
        _write_grid(grid_rows, os.path.join(output_dir, GRID_FILE))
    if skipped:
        stream.write(f'{skipped} of {len(paths)} inputs skipped\n')
    return written, skipped
