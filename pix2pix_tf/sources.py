"""Where training data lives, resolved from the `--dataset` string without importing TensorFlow.

`train.py` resolves the source before building anything, so a missing or empty folder fails in
a fraction of a second with one line; `input_pipeline` then reads the resolved source.
"""

import dataclasses
import os

from pix2pix_tf.config import ConfigError

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')
SPLITS = ('train', 'val')


@dataclasses.dataclass(frozen=True)
class AbFolder:
    """A folder of AB pairs (sketch LEFT half, photo right half) with train/ and val/ subfolders."""

    root: str

    def files(self, split: str) -> list[str]:
        """Sorted image paths of `split` ('train' or 'val')."""
        return list_images(os.path.join(self.root, split))


def list_images(folder: str) -> list[str]:
    """Sorted paths of the image files (by extension) directly inside `folder`."""
    return sorted(os.path.join(folder, name) for name in os.listdir(folder)
                  if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith('.'))


def resolve(dataset: str) -> AbFolder:
    """The data source `dataset` names; raises ConfigError with a one-line fix when unusable."""
    if not os.path.isdir(dataset):
        raise ConfigError(
            f'--dataset={dataset}: no such folder. Pass a folder of AB pairs with train/ and val/ '
            f'subfolders (run from the repository root for the built-in datasets/sample).')
    source = AbFolder(dataset)
    for split in SPLITS:
        folder = os.path.join(dataset, split)
        if not os.path.isdir(folder):
            raise ConfigError(f'--dataset={dataset} has no {split}/ subfolder; put the AB pairs '
                              f'in {folder}.')
        if not source.files(split):
            raise ConfigError(f'{folder} holds no {"/".join(IMAGE_EXTENSIONS)} files; put AB pairs '
                              f'(sketch left, photo right) there.')
    return source
