"""Trains pix2pix (shoe sketch -> photo); resumes from the workdir's latest checkpoint.

    python train.py --flagfile=sample.flags          # built-in sample, 2-core CPU, 6-9 min
    python train.py --flagfile=zappos.flags          # the full UT-Zappos50K experiment

Every hyperparameter is a flag (see pix2pix_tf/config.py); a flag given after --flagfile
overrides the file. Watch it with: tensorboard --logdir <workdir>
"""

from pix2pix_tf.commands import train

if __name__ == '__main__':
    train.main()
