"""Data: where sketch/photo pairs live and how they reach the networks.

- `sources`: the three source types (an AB folder, paired sketch/photo folders, a prepared TFDS
  dataset), each reading its own splits; `resolve` picks one from `--dataset`.
- `record_readers`: the record readers the sources call (files, TFDS shards) and the decoders.
- `input_pipeline`: the tf.data pipelines for training (resumable epochs, jitter, cache) and
  evaluation.
- `dataset_prep`: making pairs from raw UT-Zappos50K photos and edges2shoes AB files (the TFDS
  builder in `datasets/sketch2photo/` calls it).
- `edges`: photo -> sketch with OpenCV.
- `image_files`, `image_headers`: image files on disk (listing, checking, decoding with limits)
  and image sizes read from headers alone; `images`: the pixel conventions (uint8 <-> [-1, 1]).
- `disk_space`: the free-space check every writer (checkpoints, exports, reports) makes first.

May import: `pix2pix_tf.config` and other `pix2pix_tf.data` modules only (tests/test_layout.py).
"""
