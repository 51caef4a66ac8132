"""What a deployer needs to know about an export: `assets.extra/pix2pix.json` in every version.

TF Serving ignores `assets.extra/`; the file travels with the model wherever the version folder
is copied. It records (see docs/serving.md, "The model card"):

- `model`: image size, inference mode, the sketch size limit, the signatures;
- `training`: workdir, checkpoint and its step, which weights (trained or moving average),
  configured and resolved precision and strategy;
- `data`: the training data's name, location, origin and terms of use (UT-Zappos50K and
  edges2shoes are academic, non-commercial only), read from the dataset's own description;
- `validation`: the validation metrics logged at the exported step, when training evaluated at
  that step (null otherwise);
- `config`: the whole training Config; `versions`: the packages that wrote the export.
"""

import dataclasses
import datetime
import glob
import os
import re

from pix2pix_tf import config as config_lib
from pix2pix_tf.training import run_info as run_info_lib

FORMAT_VERSION = 1
DATA_DESCRIPTIONS = ('SOURCES.md', 'README.md')  # Read from an AB/paired dataset folder.
TERMS_PATTERN = re.compile(r'non-commercial|licen[cs]e|terms', re.IGNORECASE)
# sketch2photo (the project's TFDS builder) derives every config from UT-Zappos50K.
TFDS_TERMS = {
    'sketch2photo': 'Academic, non-commercial use only (UT-Zappos50K and edges2shoes terms); '
                    'cite Yu and Grauman, CVPR 2014 and ICCV 2017, and Isola et al., CVPR 2017.',
}


def _markdown_text(line: str) -> str:
    return re.sub(r'[*_`#]', '', line).strip()


def data_card(config: config_lib.Config) -> dict:
    """Name, location, origin and terms of `config.dataset` (what is known of them)."""
    dataset = config.dataset
    if os.path.isdir(dataset):
        card = {'name': os.path.basename(os.path.normpath(dataset)),
                'location': os.path.abspath(dataset), 'kind': 'folder'}
        for name in DATA_DESCRIPTIONS:
            path = os.path.join(dataset, name)
            if not os.path.isfile(path):
                continue
            with open(path, encoding='utf-8', errors='replace') as file:
                paragraphs = [' '.join(line.strip() for line in block.splitlines())
                              for block in re.split(r'\n\s*\n', file.read()) if block.strip()]
            card['description_file'] = os.path.abspath(path)
            card['title'] = _markdown_text(paragraphs[0]) if paragraphs else ''
            card['terms'] = next((_markdown_text(paragraph) for paragraph in paragraphs
                                  if TERMS_PATTERN.search(paragraph)
                                  and not paragraph.startswith('#')), None)
            break
        else:
            card['terms'] = None  # Unknown: the folder says nothing about its origin.
        return card
    builder = dataset.split('/')[0].split(':')[0]
    return {'name': dataset, 'kind': 'tfds', 'data_dir': config.data_dir or None,
            'terms': TFDS_TERMS.get(builder)}


def _scalar(value) -> float:
    import tensorflow as tf
    return float(tf.make_ndarray(value.tensor)) if value.HasField('tensor') else value.simple_value


def validation_metrics(workdir: str, step: int) -> dict | None:
    """The `metrics/*` scalars training wrote to workdir/eval at `step`; None when there are none.

    When a run was resumed and evaluated the same step twice, the last value written wins.
    """
    import tensorflow as tf

    metrics = {}
    for path in sorted(glob.glob(os.path.join(workdir, 'eval', 'events.out.tfevents.*'))):
        try:
            for record in tf.data.TFRecordDataset(path):
                event = tf.compat.v1.Event.FromString(record.numpy())
                if event.step != step:
                    continue
                for value in event.summary.value:
                    if value.tag.startswith('metrics/'):
                        metrics[value.tag[len('metrics/'):]] = _scalar(value)
        except tf.errors.DataLossError:  # A file cut short by a kill: keep what was read.
            continue
    return metrics or None


def build(config: config_lib.Config, workdir: str, checkpoint: str, step: int,
          inference_mode: str, max_sketch_size: int, model_name: str,
          run_info: dict | None = None) -> dict:
    """The model card of an export (a JSON-serialisable dict; see the module docstring)."""
    run_info = run_info or {}
    return {
        'format_version': FORMAT_VERSION,
        'model_name': model_name,
        'exported_at': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        # Top-level keys that older readers of pix2pix.json use.
        'image_size': config.image_size,
        'inference_mode': inference_mode,
        'max_sketch_size': max_sketch_size,
        'model': {
            'architecture': 'pix2pix U-Net generator (Isola et al., CVPR 2017)',
            'input': 'grayscale sketch, dark strokes on white',
            'output': 'RGB photo, the size of the sketch',
        },
        'training': {
            'workdir': os.path.abspath(workdir),
            'checkpoint': os.path.abspath(checkpoint),
            'step': step,
            'weights': ('generator moving average' if config.ema_decay
                        else 'trained generator'),
            'precision': config.precision,
            'precision_resolved': run_info.get('precision'),
            'strategy': run_info.get('strategy'),
        },
        'data': data_card(config),
        'validation': validation_metrics(workdir, step),
        'config': dict(sorted(dataclasses.asdict(config).items())),
        'versions': {'export': run_info_lib.package_versions(),
                     'training': run_info.get('versions')},
    }
