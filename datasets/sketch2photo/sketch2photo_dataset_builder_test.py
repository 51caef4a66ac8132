"""TFDS tests of the sketch2photo builder on dummy_data/ (made by make_dummy_data.py)."""

import os

import tensorflow_datasets as tfds

from . import sketch2photo_dataset_builder

DUMMY_DATA = os.path.join(os.path.dirname(__file__), 'dummy_data')


class ZapposTest(tfds.testing.DatasetBuilderTestCase):
    """UT-Zappos50K layout: <Category>/<Subcategory>/<Brand>/<id>.jpg, split by id hash."""

    DATASET_CLASS = sketch2photo_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ['zappos']
    EXAMPLE_DIR = os.path.join(DUMMY_DATA, 'zappos')
    SPLITS = {'train': 4, 'validation': 2, 'test': 2}


class Edges2ShoesTest(tfds.testing.DatasetBuilderTestCase):
    """pix2pix AB pairs: train/ and val/ folders."""

    DATASET_CLASS = sketch2photo_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ['edges2shoes']
    EXAMPLE_DIR = os.path.join(DUMMY_DATA, 'edges2shoes')
    SPLITS = {'train': 3, 'validation': 2}


class PhotosTest(tfds.testing.DatasetBuilderTestCase):
    """A user's own photos in any sub-folders, split by path hash."""

    DATASET_CLASS = sketch2photo_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ['photos']
    EXAMPLE_DIR = os.path.join(DUMMY_DATA, 'photos')
    SPLITS = {'train': 3, 'validation': 1, 'test': 1}


if __name__ == '__main__':
    tfds.testing.test_main()
