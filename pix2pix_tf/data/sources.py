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

`train.py` resolves the source once, before building anything, so a missing folder or an
unbuilt dataset fails in a fraction of a second with one line that says what to do.

Each source type knows how to read itself: `usable(split)` (the files that can be read, and
those skipped with a reason), `records(split)` (one pass in a fixed order) and
`epochs(seed, shuffle_buffer)` (the training stream), the last two as tf.data records plus
the function that decodes one (`record_readers`, imported only then: resolving and checking
a source needs no TensorFlow).
"""

import dataclasses
import json
import os

from pix2pix_tf.config import ConfigError
from pix2pix_tf.data import image_files
from pix2pix_tf.data.image_files import IMAGE_EXTENSIONS
from pix2pix_tf.data.image_files import list_images
# Logical split -> folder / TFDS split name. Training needs 'train' and 'eval'; evaluate.py
# may also score 'test' (TFDS) or any of them.
FOLDER_SPLITS = {'train': 'train', 'eval': 'val', 'test': 'test'}
TFDS_SPLITS = {'train': 'train', 'eval': 'validation', 'test': 'test'}
REQUIRED_SPLITS = ('train', 'eval')
# The repository's datasets/ folder (TFDS builders, the built-in sample), for suggestions.
REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDERS_DIR = os.path.join(REPO_DIR, 'datasets')


@dataclasses.dataclass(frozen=True)
class AbFolder:
    """AB pairs in <root>/train and <root>/val."""

    root: str

    def files(self, split: str) -> list[str]:
        """Sorted image paths of 'train', 'eval' (the val/ folder) or 'test'."""
        return list_images(_existing(self.folder(split)))

    def folder(self, split: str) -> str:
        return os.path.join(self.root, FOLDER_SPLITS[split])

    def usable(self, split: str) -> tuple[list[str], list[tuple[str, str]]]:
        """(paths that are readable AB pairs, [(skipped path, reason)]); see image_files.
        ConfigError (one line) when none is usable."""
        files, skipped = image_files.usable_files(self.files(split), ab_pair=True)
        return _some_usable(self, split, files, skipped)

    def records(self, split: str):
        """(tf.data.Dataset of the split's usable files in order, decode)."""
        from pix2pix_tf.data import record_readers
        return record_readers.ab_file_records(self.usable(split)[0])

    def epochs(self, seed: int, shuffle_buffer: int):
        """(count, epoch -> Dataset of the train split in a seeded order, decode)."""
        from pix2pix_tf.data import record_readers
        files = self.usable('train')[0]
        return len(files), record_readers.permuted_epochs(files, len(files), seed), (
            record_readers.decode_ab_file)


@dataclasses.dataclass(frozen=True)
class PairedFolders:
    """Sketches and photos in <root>/<train|val>/<sketches|photos>, matched by file name."""

    root: str

    def folder(self, split: str) -> str:
        return os.path.join(self.root, FOLDER_SPLITS[split])

    def pairs(self, split: str) -> tuple[list[str], list[str]]:
        """(sketch paths, photo paths) of 'train' or 'eval', matched by name without extension.

        Raises ConfigError when a sketch has no photo or the reverse.
        """
        folder = _existing(self.folder(split))
        return match_by_name(os.path.join(folder, 'sketches'), os.path.join(folder, 'photos'))

    def usable(self, split: str) -> tuple[tuple[list[str], list[str]], list[tuple[str, str]]]:
        """((sketch paths, photo paths) of readable pairs, [(skipped path, reason)]); a pair
        goes if either file does. ConfigError (one line) when none is usable."""
        sketches, photos, skipped = image_files.usable_pairs(*self.pairs(split))
        return _some_usable(self, split, (sketches, photos), skipped, len(sketches))

    def records(self, split: str):
        """(tf.data.Dataset of the split's usable {'sketch', 'photo'} paths in order, decode)."""
        from pix2pix_tf.data import record_readers
        return record_readers.paired_file_records(*self.usable(split)[0])

    def epochs(self, seed: int, shuffle_buffer: int):
        """(count, epoch -> Dataset of the train split in a seeded order, decode)."""
        from pix2pix_tf.data import record_readers
        sketches, photos = self.usable('train')[0]
        table = {'sketch': sketches, 'photo': photos}
        return len(sketches), record_readers.permuted_epochs(table, len(sketches), seed), (
            record_readers.decode_paired)


def _existing(folder: str) -> str:
    if not os.path.isdir(folder):
        raise ConfigError(f'{folder}: no such folder.')
    return folder


def _some_usable(source, split: str, items, skipped: list, count: int | None = None):
    """(items, skipped); ConfigError naming the folder and the count when nothing is usable."""
    if not (len(items) if count is None else count):
        if not skipped:
            raise ConfigError(f'{source.folder(split)} holds no {"/".join(IMAGE_EXTENSIONS)} '
                              f'files.')
        path, reason = skipped[0]
        raise ConfigError(f'{source.folder(split)}: no usable images: {len(skipped)} file(s) '
                          f'skipped, all unreadable or not pairs (for example '
                          f'{os.path.basename(path)}: {reason}).')
    return items, skipped


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

    def folder(self, split: str) -> str:
        return f'{self.directory} ({TFDS_SPLITS[split]} split)'

    def usable(self, split: str) -> tuple[None, list]:
        """(None, []): the builder checked every example when it built the dataset.
        ConfigError when the dataset has no such split."""
        if not self.num_examples(split):
            raise ConfigError(f'{self.directory} has no {TFDS_SPLITS[split]} examples.')
        return None, []

    def records(self, split: str):
        """(tf.data.Dataset of the split's encoded {'sketch', 'photo'} in order, decode)."""
        from pix2pix_tf.data import record_readers
        self.usable(split)
        return record_readers.tfds_records(self.directory, TFDS_SPLITS[split])

    def epochs(self, seed: int, shuffle_buffer: int):
        """(count, epoch -> Dataset of the train split's records in a seeded order, decode):
        record files in a seeded order, interleaved, then mixed in a `shuffle_buffer`."""
        from pix2pix_tf.data import record_readers
        return record_readers.tfds_epochs(self.directory, TFDS_SPLITS['train'], seed,
                                          shuffle_buffer)


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
