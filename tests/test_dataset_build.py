"""`tfds build` of the sketch2photo configs on real pairs, then training from the result.

The fixtures are made from the shipped sample (real edges2shoes pairs), arranged in the
UT-Zappos50K and edges2shoes download layouts, with bad files mixed in.
"""

import dataclasses
import glob
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from pix2pix_tf import config as config_lib
from pix2pix_tf.data import dataset_prep
from pix2pix_tf.data import input_pipeline
from pix2pix_tf.data import sources

from conftest import REPO
from conftest import SAMPLE
from conftest import tiny_config
from test_input_pipeline import assert_cache_keeps_the_stream

BUILDER = REPO / 'datasets' / 'sketch2photo'
TFDS_CLI = os.path.join(os.path.dirname(sys.executable), 'tfds')
AB_FILES = sorted(glob.glob(str(SAMPLE / 'train' / '*.jpg')))
CATEGORIES = [('Shoes', 'Oxfords', 'Bostonian'), ('Boots', 'Ankle', 'Frye'),
              ('Sandals', 'Flat', 'Teva')]


def photo_bytes(index: int, mode='RGB', format_='JPEG', size=(136, 136)) -> bytes:
    """A real photo (right half of a sample pair), as the UT-Zappos50K download stores it."""
    photo = Image.open(AB_FILES[index]).convert('RGB').crop((256, 0, 512, 256)).resize(size)
    buffer = io.BytesIO()
    photo.convert(mode).save(buffer, format_)
    return buffer.getvalue()


def tfds_build(config: str, manual_dir, data_dir):
    return subprocess.run([TFDS_CLI, 'build', str(BUILDER), f'--config={config}',
                           f'--manual_dir={manual_dir}', f'--data_dir={data_dir}'],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope='module')
def zappos_build(tmp_path_factory):
    """ut-zap50k-images-square.zip with 24 good photos and 6 bad or unusual files."""
    root = tmp_path_factory.mktemp('zappos')
    manual_dir, data_dir = root / 'manual', root / 'data'
    manual_dir.mkdir()
    members, good_ids = {}, []
    for index in range(24):
        category, subcategory, brand = CATEGORIES[index % 3]
        example_id = f'{7965300 + index}.{index}'
        members[f'{category}/{subcategory}/{brand}/{example_id}.jpg'] = photo_bytes(index)
        good_ids.append(example_id)
    folder = 'Shoes/Loafers/Acme'
    members[f'{folder}/9000001.1.jpg'] = photo_bytes(30)[:2500]  # Truncated JPEG.
    members[f'{folder}/9000002.2.jpg'] = b'\xff\xd8\xff\xe0' + os.urandom(3000)  # Corrupt.
    members[f'{folder}/9000003.3.jpg'] = b'<html>404 Not Found</html>'  # Not an image.
    members[f'{folder}/9000004.4.jpg'] = photo_bytes(31, size=(20, 20))  # Tiny.
    converted = {f'{folder}/9000005.5.jpg': photo_bytes(32, 'L'),  # Grayscale JPEG.
                 f'{folder}/9000006.6.jpg': photo_bytes(33, 'CMYK'),  # CMYK JPEG.
                 f'{folder}/9000007.7.png': photo_bytes(34, 'RGBA', 'PNG')}  # PNG with alpha.
    members.update(converted)
    good_ids += [os.path.splitext(os.path.basename(name))[0] for name in converted]
    with zipfile.ZipFile(manual_dir / 'ut-zap50k-images-square.zip', 'w') as archive:
        for name, data in members.items():
            archive.writestr(f'ut-zap50k-images-square/{name}', data)
    result = tfds_build('zappos', manual_dir, data_dir)
    return result, data_dir, good_ids


def test_zappos_build_counts_shapes_and_skip_summary(zappos_build):
    result, data_dir, good_ids = zappos_build
    assert result.returncode == 0, result.stderr[-3000:]
    expected = {split: sum(dataset_prep.split_of(i) == split for i in good_ids)
                for split in ('train', 'validation', 'test')}
    # TFDS cannot write an empty split: one that no file hashes to is left out.
    expected = {split: count for split, count in expected.items() if count}
    builder = tfds.builder_from_directory(str(data_dir / 'sketch2photo' / 'zappos' / '1.0.0'))
    assert {name: info.num_examples for name, info in builder.info.splits.items()} == expected
    summary = result.stdout.split('sketch2photo/zappos, all splits:')[1]
    assert summary.startswith(f' {len(good_ids)} examples written, 4 files skipped.')
    for line in ('skipped 2 corrupt or truncated image', 'skipped 1 not an image file',
                 'skipped 1 too small (under 32 px)', 'converted 1 grayscale to RGB',
                 'converted 1 CMYK to RGB', 'converted 1 alpha to RGB'):
        assert line in summary, line
    examples = list(builder.as_dataset(split='train'))
    assert len(examples) == expected['train']
    example = examples[0]
    assert example['sketch'].shape == (256, 256, 1) and example['sketch'].dtype == tf.uint8
    assert example['photo'].shape == (256, 256, 3) and example['photo'].dtype == tf.uint8
    ids = {bytes(e['id'].numpy()).decode() for e in examples}
    assert ids <= set(good_ids)
    by_id = {bytes(e['id'].numpy()).decode(): e for e in examples}
    shoe = by_id.get('7965300.0')
    if shoe is not None:
        assert (bytes(shoe['category'].numpy()), bytes(shoe['subcategory'].numpy()),
                bytes(shoe['brand'].numpy())) == (b'Shoes', b'Oxfords', b'Bostonian')


def test_edges2shoes_build_from_the_tarball(tmp_path):
    manual_dir = tmp_path / 'manual'
    manual_dir.mkdir()
    with tarfile.open(manual_dir / 'edges2shoes.tar.gz', 'w:gz') as archive:
        for split, files in (('train', AB_FILES[:6]), ('val', AB_FILES[6:9])):
            for path in files:
                archive.add(path, f'edges2shoes/{split}/{os.path.basename(path)}')
        not_ab = tmp_path / 'square.jpg'
        not_ab.write_bytes(photo_bytes(40, size=(256, 256)))
        archive.add(not_ab, 'edges2shoes/train/99999_AB.jpg')  # A photo, not an AB pair.
    result = tfds_build('edges2shoes', manual_dir, tmp_path / 'data')
    assert result.returncode == 0, result.stderr[-3000:]
    builder = tfds.builder_from_directory(
        str(tmp_path / 'data' / 'sketch2photo' / 'edges2shoes' / '1.0.0'))
    assert builder.info.splits['train'].num_examples == 6
    assert builder.info.splits['validation'].num_examples == 3
    assert 'skipped 1 not an AB pair (width is not twice the height)' in result.stdout
    example = next(iter(builder.as_dataset(split='validation')))
    assert example['sketch'].shape == (256, 256, 1)
    # The sketch is the LEFT half of the AB file: mostly white paper with dark strokes.
    assert float(tf.reduce_mean(tf.cast(example['sketch'], tf.float32))) > 200


def test_missing_manual_dir_prints_the_instructions_not_a_traceback(tmp_path):
    result = tfds_build('zappos', tmp_path / 'nothing_here', tmp_path / 'data')
    assert result.returncode != 0
    assert 'sketch2photo: the manual dir is missing or empty.' in result.stderr
    assert 'ut-zap50k-images-square.zip' in result.stderr
    assert 'Traceback' not in result.stderr


def test_input_pipeline_and_train_py_read_the_built_dataset(zappos_build, tmp_path):
    _, data_dir, _ = zappos_build
    source = sources.resolve('sketch2photo/zappos', str(data_dir))
    assert isinstance(source, sources.TfdsDataset)
    config = tiny_config(dataset='sketch2photo/zappos', data_dir=str(data_dir), batch_size=3)
    batch = next(iter(input_pipeline.train_dataset(config)))
    assert batch['sketch'].shape == (3, 64, 64, 1) and batch['photo'].shape == (3, 64, 64, 3)
    eval_batch = next(iter(input_pipeline.eval_dataset(config, 8)))
    assert eval_batch['photo'].shape[1:] == (64, 64, 3)
    # Encoded TFDS records find their pairs in the in-memory cache (shuffle buffer on).
    logged = assert_cache_keeps_the_stream(dataclasses.replace(config, stroke_jitter=0.5),
                                           batches=20, start_step=3)
    assert logged[0].startswith(f'Cached {source.num_examples("train")} training pairs')
    # The acceptance command: the full experiment's flags, two steps, on the built dataset.
    result = subprocess.run(
        [sys.executable, 'train.py', '--flagfile=zappos.flags', f'--data_dir={data_dir}',
         '--train_steps=2', f'--workdir={tmp_path / "run"}', '--eval_examples=2',
         '--num_samples=1'], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'Done at step 2' in result.stdout
    assert '256x256' in result.stdout


def test_unbuilt_tfds_dataset_says_how_to_build_it(tmp_path):
    # The builder's real folder, so the suggestion works from any directory.
    with pytest.raises(config_lib.ConfigError, match=re.escape(
            f'tfds build {REPO / "datasets" / "sketch2photo"} --config=zappos')):
        sources.resolve('sketch2photo/zappos', str(tmp_path))


def test_paired_folders_of_sketches_and_photos(tmp_path):
    for split, files in (('train', AB_FILES[:4]), ('val', AB_FILES[4:6])):
        for kind in ('sketches', 'photos'):
            (tmp_path / split / kind).mkdir(parents=True)
        for path in files:
            ab = Image.open(path).convert('RGB')
            name = os.path.splitext(os.path.basename(path))[0]
            ab.crop((0, 0, 256, 256)).convert('L').save(tmp_path / split / 'sketches' /
                                                        f'{name}.png')
            ab.crop((256, 0, 512, 256)).save(tmp_path / split / 'photos' / f'{name}.jpg')
    config = tiny_config(dataset=str(tmp_path), batch_size=2, flip=False)
    assert isinstance(sources.resolve(str(tmp_path)), sources.PairedFolders)
    eval_batch = next(iter(input_pipeline.eval_dataset(config, 2)))
    # The same pair read from the AB file gives the same pixels.
    ab_config = tiny_config(dataset=str(tmp_path / 'ab'))
    for split, files in (('train', AB_FILES[:4]), ('val', AB_FILES[4:6])):
        os.makedirs(tmp_path / 'ab' / split)
        for path in files:
            shutil.copy(path, tmp_path / 'ab' / split)
    ab_batch = next(iter(input_pipeline.eval_dataset(ab_config, 2)))
    for key in ('sketch', 'photo'):  # Up to JPEG re-encoding of the split files.
        assert np.abs(eval_batch[key] - ab_batch[key]).mean() < 0.02, key
    train_batch = next(iter(input_pipeline.train_dataset(config)))
    assert train_batch['sketch'].shape == (2, 64, 64, 1)
    assert assert_cache_keeps_the_stream(config, batches=6)[0].startswith('Cached 4 training')
    os.remove(next((tmp_path / 'train' / 'photos').iterdir()))
    with pytest.raises(config_lib.ConfigError, match='no partner'):
        sources.resolve(str(tmp_path))
