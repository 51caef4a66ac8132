"""Where training data lives, resolved from `--dataset` / `--data_dir` without TensorFlow.

`--dataset` is one of:

- a folder of **AB pairs** (pix2pix layout, sketch LEFT half, photo right half) with `train/`
  and `val/` subfolders, such as the built-in `datasets/sample`;
- a folder of **paired files**: `train/sketches/`, `train/photos/`, `val/sketches/`,
  `val/photos/`, a sketch and its photo sharing a file name (any image format, extension may
  differ);
- a **TFDS dataset** built with `tfds build datasets/sketch2photo`, named `sketch2photo/zappos`,
  `sketch2photo/edges2shoes` or `sketch2photo/photos` (optionally `name:version`), read from
  `--data_dir` (default ~/tensorflow_datasets). Any TFDS dataset whose examples have `sketch`
  and `photo` image features and train and validation splits works.

`train.py` resolves the source before building anything, so a missing folder or an unbuilt
dataset fails in a fraction of a second with one line that says what to do.
"""

import dataclasses
import json
import os

from pix2pix_tf import file_check
from pix2pix_tf.config import ConfigError

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')
# Logical split -> folder / TFDS split name. Training needs 'train' and 'eval'; evaluate.py
# may also score 'test' (TFDS) or any of them.
FOLDER_SPLITS = {'train': 'train', 'eval': 'val', 'test': 'test'}
TFDS_SPLITS = {'train': 'train', 'eval': 'validation', 'test': 'test'}
REQUIRED_SPLITS = ('train', 'eval')
# The repository's datasets/ folder (TFDS builders, the built-in sample), for suggestions.
BUILDERS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            'datasets')


def list_images(folder: str) -> list[str]:
    """Sorted paths of the image files (by extension) directly inside `folder`."""
    return sorted(os.path.join(folder, name) for name in os.listdir(folder)
                  if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith('.'))


@dataclasses.dataclass(frozen=True)
class AbFolder:
    """AB pairs in <root>/train and <root>/val."""

    root: str

    def files(self, split: str) -> list[str]:
        """Sorted image paths of 'train' or 'eval' (the val/ folder)."""
        return list_images(os.path.join(self.root, FOLDER_SPLITS[split]))

    def usable_files(self, split: str) -> tuple[list[str], list[tuple[str, str]]]:
        """(paths that are readable AB pairs, [(skipped path, reason)]); see file_check."""
        return file_check.usable_files(self.files(split), ab_pair=True)


@dataclasses.dataclass(frozen=True)
class PairedFolders:
    """Sketches and photos in <root>/<train|val>/<sketches|photos>, matched by file name."""

    root: str

    def pairs(self, split: str) -> tuple[list[str], list[str]]:
        """(sketch paths, photo paths) of 'train' or 'eval', matched by name without extension.

        Raises ConfigError when a sketch has no photo or the reverse.
        """
        folder = os.path.join(self.root, FOLDER_SPLITS[split])
        return match_by_name(os.path.join(folder, 'sketches'), os.path.join(folder, 'photos'))

    def usable_pairs(self, split: str):
        """(sketch paths, photo paths, [(skipped path, reason)]) of readable pairs."""
        return file_check.usable_pairs(*self.pairs(split))


def match_by_name(sketch_folder: str, photo_folder: str) -> tuple[list[str], list[str]]:
    """(sketch paths, photo paths) paired by file name without extension, sorted.

    Raises ConfigError when a sketch has no photo or the reverse.
    """
    sketches, photos = ({os.path.splitext(os.path.basename(path))[0]: path
                         for path in list_images(folder)}
                        for folder in (sketch_folder, photo_folder))
    unmatched = sorted(set(sketches) ^ set(photos))
    if unmatched:
        raise ConfigError(f'{sketch_folder} and {photo_folder}: {len(unmatched)} files have no '
                          f'partner in the other folder (for example {unmatched[0]!r}); every '
                          f'sketch needs a photo with the same name.')
    names = sorted(sketches)
    return [sketches[name] for name in names], [photos[name] for name in names]


@dataclasses.dataclass(frozen=True)
class TfdsDataset:
    """A prepared TFDS dataset: `directory` holds its dataset_info.json and record files."""

    name: str
    directory: str

    def num_examples(self, split: str) -> int:
        with open(os.path.join(self.directory, 'dataset_info.json')) as file:
            info = json.load(file)
        for entry in info.get('splits', []):
            if entry['name'] == TFDS_SPLITS[split]:
                return sum(int(count) for count in entry.get('shardLengths', []))
        return 0


def default_data_dir() -> str:
    return os.environ.get('TFDS_DATA_DIR') or os.path.expanduser('~/tensorflow_datasets')


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split('.'))


def _prepared_versions(base: str) -> list[str]:
    """Version folders under `base` that hold a prepared dataset, oldest first."""
    if not os.path.isdir(base):
        return []
    return sorted((entry for entry in os.listdir(base)
                   if os.path.isfile(os.path.join(base, entry, 'dataset_info.json'))),
                  key=_version_key)


def _resolve_tfds(dataset: str, data_dir: str) -> TfdsDataset:
    data_dir = os.path.expanduser(data_dir or default_data_dir())
    name, _, version = dataset.partition(':')
    base = os.path.join(data_dir, *name.split('/'))
    versions = [entry for entry in _prepared_versions(base) if entry == version or not version]
    if not versions:
        builder, _, config = name.partition('/')
        builder_dir = os.path.join(BUILDERS_DIR, builder)
        raise ConfigError(
            f'--dataset={dataset}: no such folder, and no prepared TFDS dataset in {base}. Pass '
            f'a folder of pairs (such as {os.path.join(BUILDERS_DIR, "sample")}), or build the '
            f'dataset: tfds build '
            f'{builder_dir if os.path.isdir(builder_dir) else "<datasets/" + builder + ">"} '
            f'--config={config or "<config>"} --manual_dir=<raw data> --data_dir={data_dir}')
    source = TfdsDataset(name, os.path.join(base, versions[-1]))
    for split in REQUIRED_SPLITS:
        if not source.num_examples(split):
            raise ConfigError(f'{source.directory} has no {TFDS_SPLITS[split]} examples; '
                              f'training needs train and validation splits.')
    return source


def resolve(dataset: str, data_dir: str = '') -> AbFolder | PairedFolders | TfdsDataset:
    """The data source `dataset` names; raises ConfigError with a one-line fix when unusable."""
    dataset = os.path.expanduser(dataset)
    if not os.path.isdir(dataset):
        return _resolve_tfds(dataset, data_dir)
    paired = os.path.isdir(os.path.join(dataset, 'train', 'sketches'))
    source = PairedFolders(dataset) if paired else AbFolder(dataset)
    what = 'sketches and photos' if paired else 'AB pairs (sketch left, photo right)'
    for split in REQUIRED_SPLITS:
        folder_name = FOLDER_SPLITS[split]
        folder = os.path.join(dataset, folder_name)
        if not os.path.isdir(folder):
            raise ConfigError(f'--dataset={dataset} has no {folder_name}/ subfolder; put the '
                              f'{what} of that split in {folder}.')
        if paired:
            for kind in ('sketches', 'photos'):
                if not os.path.isdir(os.path.join(folder, kind)):
                    raise ConfigError(f'{folder} has no {kind}/ subfolder; paired data needs '
                                      f'{folder}/sketches and {folder}/photos.')
        if not (source.pairs(split)[0] if paired else source.files(split)):
            raise ConfigError(f'{folder} holds no {"/".join(IMAGE_EXTENSIONS)} files; put '
                              f'{what} there.')
    return source


def split_folder(source, split: str) -> str:
    """The folder of a split of a folder source (for messages)."""
    return os.path.join(source.root, FOLDER_SPLITS[split])


def usable(source, split: str) -> tuple[object, list[tuple[str, str]]]:
    """(what input_pipeline reads for a folder source's split, [(skipped path, reason)]).

    AB folders: a list of paths; paired folders: (sketch paths, photo paths). ConfigError, one
    line naming the folder and the count, when no file of the split is usable.
    """
    if isinstance(source, PairedFolders):
        sketches, photos, skipped = source.usable_pairs(split)
        items, count = (sketches, photos), len(sketches)
    else:
        items, skipped = source.usable_files(split)
        count = len(items)
    if not count:
        path, reason = skipped[0]
        raise ConfigError(f'{split_folder(source, split)}: no usable images: {len(skipped)} '
                          f'file(s) skipped, all unreadable or not pairs (for example '
                          f'{os.path.basename(path)}: {reason}).')
    return items, skipped
