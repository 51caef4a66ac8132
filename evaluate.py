"""Scores a trained model (workdir or SavedModel) on a split or a folder; writes a report.

    python evaluate.py --workdir=runs/sample
    python evaluate.py --workdir=runs/sample --all_checkpoints
    python evaluate.py --model=saved_models/sample --pairs='my_pairs/*.jpg'

Metrics: L1, PSNR, SSIM, and FID/KID with --inception_weights. Outputs metrics.json, a printed
table and index.html (see pix2pix_tf/commands/evaluate.py and docs/evaluation.md).
"""

from pix2pix_tf.commands import evaluate

if __name__ == '__main__':
    evaluate.main()
