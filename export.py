"""Exports a trained generator: a SavedModel that TF Serving loads as it is, or TFLite / .keras.

    python export.py --workdir=runs/sample                 # saved_models/sample/1/, 2/, ...
    python export.py --workdir=runs/sample --inference_mode=eval --version=7 --overwrite
    python export.py --workdir=runs/sample --format=tflite # saved_models/sample_tflite/1/
    python export.py --workdir=runs/sample --format=keras  # saved_models/sample_keras/1/

Signatures (see pix2pix_tf/serving/signatures.py): serving_default (encoded image bytes in,
PNG out) and predict_pixels (uint8 pixels in and out).
`saved_model_cli show --dir <version dir> --all` lists them; every version carries a model
card in assets.extra/pix2pix.json. See docs/serving.md.
"""

from pix2pix_tf.commands import export

if __name__ == '__main__':
    export.main()
