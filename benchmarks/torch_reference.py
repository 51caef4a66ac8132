"""The PyTorch reference's generator (junyanz/pytorch-CycleGAN-and-pix2pix `UnetGenerator`) with
a 1-channel sketch input, for benchmarks that run it next to pix2pix_tf's.

Imported by scripts that run in the separate torch virtual environment (see vs_pytorch.py):
only torch is needed. `unet(ngf=64, norm='batch', dropout=True)` is the paper's unet_256 (8
downsamplings at 256x256); `unet(16, 'instance', False)` has the shape of cpu.flags's generator
(quarter width, instance norm with a scale and offset as Keras's, no dropout).
vs_pytorch.py keeps its own copy of the same blocks in its training-step script.
"""

import math

import torch
from torch import nn


class Block(nn.Module):
    """junyanz UnetSkipConnectionBlock: down, the inner block, up, then the skip concatenation."""

    def __init__(self, outer, inner, norm_layer, input_nc=None, sub=None, outermost=False,
                 innermost=False, dropout=False):
        super().__init__()
        self.outermost = outermost
        use_bias = norm_layer is not nn.BatchNorm2d  # As the reference: no bias before BN.
        input_nc = input_nc or outer
        down = [nn.Conv2d(input_nc, inner, 4, 2, 1, bias=use_bias)]
        if outermost:
            model = down + [sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1),
                            nn.Tanh()]
        elif innermost:
            model = [nn.LeakyReLU(0.2, True)] + down + [
                nn.ReLU(True), nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=use_bias),
                norm_layer(outer)]
        else:
            model = [nn.LeakyReLU(0.2, True)] + down + [norm_layer(inner), sub] + [
                nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=use_bias),
                norm_layer(outer)] + ([nn.Dropout(0.5)] if dropout else [])
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


def unet(ngf: int = 64, norm: str = 'batch', dropout: bool = True,
         image_size: int = 256) -> nn.Module:
    """The U-Net generator: float [N, 1, S, S] in [-1, 1] -> [N, 3, S, S]; log2(S) levels."""
    norm_layer = nn.BatchNorm2d if norm == 'batch' else (
        lambda channels: nn.InstanceNorm2d(channels, affine=True))
    num_downs = int(math.log2(image_size))
    block = Block(ngf * 8, ngf * 8, norm_layer, innermost=True)
    for _ in range(num_downs - 5):
        block = Block(ngf * 8, ngf * 8, norm_layer, sub=block, dropout=dropout)
    block = Block(ngf * 4, ngf * 8, norm_layer, sub=block)
    block = Block(ngf * 2, ngf * 4, norm_layer, sub=block)
    block = Block(ngf, ngf * 2, norm_layer, sub=block)
    return Block(3, ngf, norm_layer, input_nc=1, sub=block, outermost=True)


def patch_discriminator(ndf: int = 64) -> nn.Module:
    """junyanz NLayerDiscriminator (n_layers=3, batch norm): the 70x70 PatchGAN on the 4-channel
    sketch + photo pair; logits [N, 1, S/8 - 2, S/8 - 2]."""
    layers = [nn.Conv2d(4, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    for previous, multiple, stride in ((1, 2, 2), (2, 4, 2), (4, 8, 1)):
        layers += [nn.Conv2d(ndf * previous, ndf * multiple, 4, stride, 1, bias=False),
                   nn.BatchNorm2d(ndf * multiple), nn.LeakyReLU(0.2, True)]
    return nn.Sequential(*layers, nn.Conv2d(ndf * 8, 1, 4, 1, 1))
