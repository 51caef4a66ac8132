"""evaluate.py's report: the printed table, metrics.json, images and an offline index.html."""

import json

import cv2
import numpy as np

from pix2pix_tf.evaluation import report

ROWS = [{'model': 'step 2', 'step': 2, 'metrics': {'l1': 0.25, 'psnr': 12.345, 'ssim': 0.5,
                                                   'num_examples': 4}},
        {'model': 'step <4>', 'step': 4, 'metrics': {'l1': 0.125, 'psnr': 14.0, 'ssim': 0.625,
                                                     'fid': 33.3, 'num_examples': 4}}]


def test_table_has_a_column_per_metric_any_row_has():
    assert report.table(ROWS).splitlines() == [
        '| model | L1 | PSNR (dB) | SSIM | FID | pairs |',
        '|---|---|---|---|---|---|',
        '| step 2 | 0.2500 | 12.35 | 0.5000 | - | 4 |',
        '| step <4> | 0.1250 | 14.00 | 0.6250 | 33.30 | 4 |']


def test_write_makes_metrics_images_and_an_escaped_page(tmp_path):
    examples = {'sketch': np.zeros((2, 8, 8, 1), np.uint8),
                'generated': np.full((2, 8, 8, 3), 128, np.uint8),
                'photo': np.full((2, 8, 8, 3), [255, 0, 0], np.uint8)}
    paths = report.write(str(tmp_path), ROWS, examples, {'data': 'a & b'})
    saved = json.loads((tmp_path / 'metrics.json').read_text())
    assert saved == {'info': {'data': 'a & b'}, 'results': ROWS}
    image = cv2.cvtColor(cv2.imread(str(tmp_path / 'images' / '001.png')), cv2.COLOR_BGR2RGB)
    assert image.shape == (8, 24, 3)  # sketch | generated | photo
    np.testing.assert_array_equal(image[0, [0, 8, 16]], [[0, 0, 0], [128] * 3, [255, 0, 0]])
    page = (tmp_path / 'index.html').read_text()
    assert 'step &lt;4&gt;' in page and 'a &amp; b' in page and 'src="images/000.png"' in page
    assert paths['report'] == str(tmp_path / 'index.html')


def test_realism_columns_follow_the_pixel_metrics(tmp_path):
    rows = [{'model': 'm', 'step': 1, 'metrics': {
        'l1': 0.1, 'psnr': 15.0, 'ssim': 0.6, 'colour_ratio': 0.9123, 'colour_distance': 0.05,
        'texture_ratio': 1.1, 'two_sample_accuracy': 0.625, 'num_examples': 100}}]
    assert report.table(rows).splitlines()[::2] == [
        '| model | L1 | PSNR (dB) | SSIM | colour ratio | colour JS | texture ratio | '
        '2-sample acc. | pairs |',
        '| m | 0.1000 | 15.00 | 0.6000 | 0.912 | 0.050 | 1.100 | 0.625 | 100 |']
    report.write(str(tmp_path), rows, {}, {})
    page = (tmp_path / 'index.html').read_text()
    assert '<th>2-sample acc.</th>' in page and '<td>0.625</td>' in page
    assert '0.5 =\nindistinguishable' in page
