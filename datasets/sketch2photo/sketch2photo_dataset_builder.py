"""sketch2photo: paired (sketch, photo) shoes for pix2pix, from UT-Zappos50K, edges2shoes or
your own product photos.

    tfds build datasets/sketch2photo --config=zappos --manual_dir=DIR --data_dir=OUT

Configs:
- `zappos`: the raw UT-Zappos50K download; photos padded to square on white, resized to
  256x256 and sketched by `pix2pix_tf.data.edges` (OpenCV). Splits by a hash of the image id:
  train 90%, validation 5%, test 5%.
- `edges2shoes`: pix2pix's AB pairs (sketch LEFT, photo right); its train/ and val/ folders
  become the train and validation splits.
- `photos`: any folder of your own product photos (handbags, chairs, ...), processed as
  `zappos`; category and subcategory come from the first two folder levels.

Bad files (corrupt, truncated, not images, tiny, not AB pairs) are skipped and counted, and each
split ends with a summary; grayscale, CMYK, 16-bit and transparent images are converted. Files
are decoded and sketched by a thread pool (one thread per core; OpenCV releases the GIL), so a
build runs at the speed of JPEG decoding plus sketching. Set SKETCH2PHOTO_WORKERS to change the
thread count.
"""

import posixpath
import sys

import tensorflow_datasets as tfds
from etils import epath

from pix2pix_tf.data import dataset_prep

IMAGE_SIZE = 256
ZAPPOS_NAMES = ('ut-zap50k-images-square', 'ut-zap50k-images')
ZAPPOS_CATEGORIES = ('Boots', 'Sandals', 'Shoes', 'Slippers')
EDGES2SHOES_SPLITS = {'train': 'train', 'val': 'validation'}

_INSTRUCTIONS = """\
Put the raw data in the --manual_dir folder, then run the build again:

* --config=zappos: UT-Zappos50K from https://vision.cs.utexas.edu/projects/finegrained/utzap50k/
  Download `ut-zap50k-images-square.zip` (or `ut-zap50k-images.zip`) into the manual dir; an
  extracted `ut-zap50k-images-square/` folder (<Category>/<Subcategory>/<Brand>/<id>.jpg) works
  too. Academic, non-commercial use only; cite Yu and Grauman, CVPR 2014 and ICCV 2017.
* --config=edges2shoes: pix2pix's `edges2shoes.tar.gz` from
  http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/edges2shoes.tar.gz
  (or its extracted `edges2shoes/` folder with train/ and val/ inside).
* --config=photos: a folder of your own product photos on a white background, in any
  sub-folders (for example photos/handbags/tote/1.jpg); pass that folder as --manual_dir.
"""


def _fail(message: str):
    """Stops the build with `message`: one clean message under the tfds CLI, else ValueError."""
    if any(name.startswith('tensorflow_datasets.scripts.cli') for name in sys.modules):
        raise SystemExit(f'sketch2photo: {message}')
    raise ValueError(message)


# Paths go through etils.epath, not os (TFDS's builder tests forbid `os` in builders, so the
# same code works on cloud file systems); archive member names are '/'-separated strings.


def _stem(name: str) -> str:
    return posixpath.splitext(posixpath.basename(name))[0]


def _zappos_metadata(name: str) -> dict:
    """id, category, subcategory, brand from '.../<Category>/<Subcategory>/<Brand>/<id>.jpg'."""
    parts = name.split('/')
    folders = (['', '', ''] + parts[:-1])[-3:]
    return {'id': _stem(name), 'category': folders[0], 'subcategory': folders[1],
            'brand': folders[2]}


def _photos_metadata(name: str) -> dict:
    folders = name.split('/')[:-1] + ['', '']
    return {'id': posixpath.splitext(name)[0], 'category': folders[0], 'subcategory': folders[1],
            'brand': ''}


class Builder(tfds.core.GeneratorBasedBuilder):
    """Paired sketch/photo shoes (or your own products) for pix2pix."""

    VERSION = tfds.core.Version('1.0.0')
    RELEASE_NOTES = {'1.0.0': 'Initial release.'}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name='zappos', description='UT-Zappos50K photos, OpenCV '
                                'sketches, splits by id hash (90/5/5).'),
        tfds.core.BuilderConfig(name='edges2shoes', description='pix2pix edges2shoes AB pairs '
                                '(HED sketches), train and validation.'),
        tfds.core.BuilderConfig(name='photos', description='Your own product photos, OpenCV '
                                'sketches, splits by path hash (90/5/5).'),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = _INSTRUCTIONS

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                'sketch': tfds.features.Image(shape=(IMAGE_SIZE, IMAGE_SIZE, 1),
                                              encoding_format='png'),
                'photo': tfds.features.Image(shape=(IMAGE_SIZE, IMAGE_SIZE, 3),
                                             encoding_format='jpeg'),
                'id': tfds.features.Text(),
                'category': tfds.features.Text(),
                'subcategory': tfds.features.Text(),
                'brand': tfds.features.Text(),
            }),
            supervised_keys=('sketch', 'photo'),
            homepage='https://vision.cs.utexas.edu/projects/finegrained/utzap50k/',
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        try:
            manual_dir = epath.Path(dl_manager.manual_dir)
        except AssertionError:
            _fail(f'the manual dir is missing or empty.\n{_INSTRUCTIONS}')
        self._total = dataset_prep.SkipReport()
        if self.builder_config.name == 'edges2shoes':
            files, metadata = self._edges2shoes_files(manual_dir), None
            splits = list(EDGES2SHOES_SPLITS.values())
        else:
            if self.builder_config.name == 'zappos':
                files, metadata = self._zappos_files(manual_dir), _zappos_metadata
            else:
                files = lambda: dataset_prep.iter_folder(manual_dir)  # noqa: E731
                metadata = _photos_metadata
            # Listing names reads no image data; TFDS cannot write an empty split, so a split
            # no file hashes to (a small folder of your own photos) is left out.
            assigned = {dataset_prep.split_of(metadata(name)['id']) for name, _ in files()}
            splits = [split for split in ('train', 'validation', 'test') if split in assigned]
            if not splits:
                _fail(f'no files found in {manual_dir}.\n{_INSTRUCTIONS}')
        return {split: self._generate_examples(files, split, metadata, split == splits[-1])
                for split in splits}

    @staticmethod
    def _zappos_files(manual_dir: epath.Path):
        for name in ZAPPOS_NAMES:
            archive, folder = manual_dir / (name + '.zip'), manual_dir / name
            if archive.is_file():
                return lambda: dataset_prep.iter_zip(archive)
            if folder.is_dir():
                return lambda: dataset_prep.iter_folder(folder)
        if any((manual_dir / category).is_dir() for category in ZAPPOS_CATEGORIES):
            return lambda: dataset_prep.iter_folder(manual_dir)
        _fail(f'no UT-Zappos50K data in {manual_dir}.\n{_INSTRUCTIONS}')

    @staticmethod
    def _edges2shoes_files(manual_dir: epath.Path):
        archive = manual_dir / 'edges2shoes.tar.gz'
        if archive.is_file():
            return lambda: dataset_prep.iter_tar(archive)
        for root in (manual_dir / 'edges2shoes', manual_dir):
            if (root / 'train').is_dir():
                return lambda: dataset_prep.iter_folder(root)
        _fail(f'no edges2shoes data in {manual_dir}.\n{_INSTRUCTIONS}')

    def _generate_examples(self, files, split: str, metadata, last_split: bool):
        """Yields (path, example) of `split`: files are assigned before any decoding."""
        if metadata is None:  # edges2shoes: the split is the folder, train/ or val/.
            def in_split(name):
                folders = name.split('/')[:-1]
                return bool(folders) and EDGES2SHOES_SPLITS.get(folders[-1]) == split
            make_example = dataset_prep.ab_example
        else:
            def in_split(name):
                return dataset_prep.split_of(metadata(name)['id']) == split
            make_example = dataset_prep.photo_example

        report = dataset_prep.SkipReport()
        selected = ((name, read) for name, read in files() if in_split(name))
        for name, example in dataset_prep.process_files(
                selected, lambda data: make_example(data, IMAGE_SIZE), report):
            info = metadata(name) if metadata else {'id': _stem(name), 'category': '',
                                                    'subcategory': '', 'brand': ''}
            yield name, {**example, **info}
        name = f'sketch2photo/{self.builder_config.name}'
        # A leading newline keeps the summary off TFDS's progress bar line.
        print('\n' + report.summary(f'{name} {split}'), flush=True)
        self._total.add(report)
        if last_split:
            print('\n' + self._total.summary(f'{name}, all splits'), flush=True)
