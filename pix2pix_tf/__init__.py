"""pix2pix_tf: pix2pix (Isola et al., CVPR 2017) in TensorFlow 2 / Keras 3: sketches -> photos."""

__version__ = '0.1.0'
