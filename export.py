"""Exports a trained generator as a SavedModel that TF Serving loads as it is.

    python export.py --workdir=runs/sample                 # saved_models/sample/1/, 2/, ...
    python export.py --workdir=runs/sample --inference_mode=eval --version=7 --overwrite

Signatures (see pix2pix_tf/serving.py): serving_default (encoded image bytes in, PNG out) and
predict_pixels (uint8 pixels in and out). `saved_model_cli show --dir <version dir> --all`
lists them.
"""

from pix2pix_tf import export_command

if __name__ == '__main__':
    export_command.run()
