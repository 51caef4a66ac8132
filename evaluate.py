"""Scores a trained model (workdir or SavedModel) on a split or a folder; writes a report.

    python evaluate.py --workdir=runs/sample
    python evaluate.py --workdir=runs/sample --all_checkpoints
    python evaluate.py --saved_model=saved_models/sample/1 --pairs='my_pairs/*.jpg'

Metrics: L1, PSNR, SSIM, and FID/KID with --inception_weights. Outputs metrics.json, a printed
table and index.html (see pix2pix_tf/evaluate_command.py and README, "Evaluation").
"""

from pix2pix_tf import evaluate_command

if __name__ == '__main__':
    evaluate_command.run_command()
