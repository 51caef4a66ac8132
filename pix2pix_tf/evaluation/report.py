"""evaluate.py's outputs: metrics.json, a printed table and an offline index.html report."""

import datetime
import html
import json
import os

import cv2
import numpy as np

COLUMNS = (('l1', 'L1', '{:.4f}'), ('psnr', 'PSNR (dB)', '{:.2f}'), ('ssim', 'SSIM', '{:.4f}'),
           ('fid', 'FID', '{:.2f}'), ('kid', 'KID', '{:.4f}'),
           ('colour_ratio', 'colour ratio', '{:.3f}'), ('colour_distance', 'colour JS', '{:.3f}'),
           ('texture_ratio', 'texture ratio', '{:.3f}'),
           ('two_sample_accuracy', '2-sample acc.', '{:.3f}'), ('num_examples', 'pairs', '{}'))


def _columns(rows: list[dict]):
    return [column for column in COLUMNS if any(column[0] in row['metrics'] for row in rows)]


def table(rows: list[dict]) -> str:
    """A Markdown table, one row per scored model ({'model': name, 'metrics': {...}})."""
    columns = _columns(rows)
    lines = ['| model | ' + ' | '.join(title for _, title, _ in columns) + ' |',
             '|---|' + '---|' * len(columns)]
    for row in rows:
        cells = [fmt.format(row['metrics'][key]) if key in row['metrics'] else '-'
                 for key, _, fmt in columns]
        lines.append(f'| {row["model"]} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def write(output_dir: str, rows: list[dict], examples: dict, info: dict) -> dict:
    """Writes metrics.json, images/NNN.png (sketch | generated | photo) and index.html.

    Args:
      output_dir: created if missing.
      rows: [{'model': name, 'step': int or None, 'metrics': {...}}], one per scored model.
      examples: uint8 arrays 'sketch' [K,S,S,1], 'generated' and 'photo' [K,S,S,3] of the last
        (or only) model, for the grid.
      info: what was scored and how (data, inference mode, ...), shown in the report.

    Returns:
      {'metrics': path, 'report': path, 'images': [paths]}.
    """
    os.makedirs(os.path.join(output_dir, 'images'), exist_ok=True)
    image_paths = []
    for index in range(len(examples.get('photo', []))):
        sketch = np.repeat(examples['sketch'][index], 3, axis=-1)
        row = np.concatenate([sketch, examples['generated'][index], examples['photo'][index]],
                             axis=1)
        path = os.path.join('images', f'{index:03d}.png')
        cv2.imwrite(os.path.join(output_dir, path), cv2.cvtColor(row, cv2.COLOR_RGB2BGR))
        image_paths.append(path)
    metrics_path = os.path.join(output_dir, 'metrics.json')
    with open(metrics_path, 'w') as file:
        json.dump({'info': info, 'results': rows}, file, indent=2, sort_keys=True)

    columns = _columns(rows)
    header = ''.join(f'<th>{html.escape(title)}</th>' for _, title, _ in columns)
    body = ''.join(
        '<tr><td>' + html.escape(str(row['model'])) + '</td>' + ''.join(
            f'<td>{fmt.format(row["metrics"][key]) if key in row["metrics"] else "-"}</td>'
            for key, _, fmt in columns) + '</tr>' for row in rows)
    details = ''.join(f'<li><b>{html.escape(str(key))}</b>: {html.escape(str(value))}</li>'
                      for key, value in info.items())
    figures = ''.join(f'<figure><img src="{path}" alt="example {index}"><figcaption>#{index}: '
                      f'sketch | generated | photo</figcaption></figure>'
                      for index, path in enumerate(image_paths))
    report_path = os.path.join(output_dir, 'index.html')
    with open(report_path, 'w') as file:
        file.write(f'''<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pix2pix_tf evaluation</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}td:first-child{{text-align:left}}
figure{{display:inline-block;margin:6px}}img{{image-rendering:pixelated;max-width:768px}}</style>
</head><body>
<h1>pix2pix_tf evaluation</h1>
<p>{html.escape(datetime.datetime.now().strftime('%Y-%m-%d %H:%M'))}</p>
<ul>{details}</ul>
<table><tr><th>model</th>{header}</tr>{body}</table>
<p>L1: mean absolute error in [-1, 1]; PSNR and SSIM on the uint8 images (max 255); FID and KID
on InceptionV3 pool features (lower is better; comparable between runs of this project only).
Realism, generated against real photos, no weights needed: colour ratio (colourfulness, 1 = as
colourful as the real photos), colour JS (distance between the chroma histograms, 0 = same
colours), texture ratio (share of fine-detail spectral power: below 1 blurred, above 1 noisy),
2-sample acc. (a cross-validated patch classifier telling generated from real: 0.5 =
indistinguishable, 1 = always told), all taken after storing both sets alike as JPEG (quality
95, 4:2:0 chroma), so that they compare photos rather than file formats.</p>
<h2>Examples</h2>
{figures}
</body></html>
''')
    return {'metrics': metrics_path, 'report': report_path,
            'images': [os.path.join(output_dir, path) for path in image_paths]}
