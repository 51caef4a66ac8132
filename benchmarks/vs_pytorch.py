"""pix2pix_tf's training step next to the PyTorch reference's, alternately, in one run.

    python benchmarks/vs_pytorch.py [--torch_python /path/to/venv/bin/python]
        [--batch_sizes 1,4] [--precisions float32,bfloat16] [--seconds 20] [--rounds 2]

PyTorch is never a dependency of pix2pix_tf or its tests. Install it in a separate virtual
environment (the CPU build: `python3 -m venv ~/torchvenv && ~/torchvenv/bin/pip install torch
numpy`) and pass that interpreter as --torch_python (default: this interpreter, if it can import
torch).

The reference is junyanz/pytorch-CycleGAN-and-pix2pix's pix2pix, rebuilt here in PyTorch from
its definitions: `UnetGenerator` (unet_256: 8 downsamplings, ngf 64, batch norm, dropout) with a
1-channel sketch input, `NLayerDiscriminator` (n_layers=3, ndf 64, batch norm) on the 4-channel
sketch+photo pair, BCE-with-logits GAN loss + 100 x L1, Adam (betas 0.5/0.999, eps 1e-8), and its
update order: G forward, D step (fake detached, real), then G step with D run again on the fake.
bfloat16 on the PyTorch side is `torch.autocast('cpu', torch.bfloat16)` around the forward passes;
on pix2pix_tf's side the `mixed_bfloat16` policy.

Each cell runs in a fresh process (peak RSS of a training step is that process's ru_maxrss),
alternating frameworks and repeated --rounds times; the table keeps each cell's median ms/step.
The machine's matmul peak (TensorFlow, 4096x4096, float32 and bfloat16) is measured in the same
run, and GFLOP/s counts the convolution passes each step executes as benchmarks/train_step.py
does (`PASSES`): 80.1 GFLOP per image and step at 256x256 for pix2pix_tf's single-tape step,
86.4 for the reference's order, which runs one more forward pass of D (its G step turns off D's
kernel gradients, so it runs no more backward passes than the single-tape step). pix2pix_tf is
timed in both of its update orders (--update_orders): `simultaneous` (the single-tape step) and
`alternating` (the reference's order, the same work as the reference).
"""

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TORCH_CELL = textwrap.dedent('''
    import json, resource, sys, time
    import torch
    from torch import nn
    batch, precision, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    torch.manual_seed(0)

    class Block(nn.Module):  # junyanz UnetSkipConnectionBlock, batch norm (so no conv bias).
        def __init__(self, outer, inner, input_nc=None, sub=None, outermost=False,
                     innermost=False, dropout=False):
            super().__init__()
            self.outermost = outermost
            input_nc = input_nc or outer
            down = [nn.Conv2d(input_nc, inner, 4, 2, 1, bias=False)]
            if outermost:
                up = [nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
                model = down + [sub] + up
            elif innermost:
                up = [nn.ReLU(True), nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False),
                      nn.BatchNorm2d(outer)]
                model = [nn.LeakyReLU(0.2, True)] + down + up
            else:
                up = [nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False),
                      nn.BatchNorm2d(outer)] + ([nn.Dropout(0.5)] if dropout else [])
                model = [nn.LeakyReLU(0.2, True)] + down + [nn.BatchNorm2d(inner), sub] + up
            self.model = nn.Sequential(*model)

        def forward(self, x):
            return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)

    def unet_256(ngf=64):
        block = Block(ngf * 8, ngf * 8, innermost=True)
        for _ in range(3):
            block = Block(ngf * 8, ngf * 8, sub=block, dropout=True)
        block = Block(ngf * 4, ngf * 8, sub=block)
        block = Block(ngf * 2, ngf * 4, sub=block)
        block = Block(ngf, ngf * 2, sub=block)
        return Block(3, ngf, input_nc=1, sub=block, outermost=True)

    def n_layer_discriminator(ndf=64):
        layers = [nn.Conv2d(4, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for prev, mult, stride in ((1, 2, 2), (2, 4, 2), (4, 8, 1)):
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=False),
                       nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2, True)]
        return nn.Sequential(*layers, nn.Conv2d(ndf * 8, 1, 4, 1, 1))

    generator, discriminator = unet_256(), n_layer_discriminator()
    adam = dict(lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    opt_g = torch.optim.Adam(generator.parameters(), **adam)
    opt_d = torch.optim.Adam(discriminator.parameters(), **adam)
    bce, l1 = nn.BCEWithLogitsLoss(), nn.L1Loss()
    sketch = torch.rand(batch, 1, 256, 256) * 2 - 1
    photo = torch.rand(batch, 3, 256, 256) * 2 - 1
    autocast = (torch.autocast('cpu', dtype=torch.bfloat16) if precision == 'bfloat16'
                else torch.autocast('cpu', enabled=False))

    def step():
        with autocast:
            fake = generator(sketch)
        for parameter in discriminator.parameters():
            parameter.requires_grad_(True)
        opt_d.zero_grad()
        with autocast:
            pred_fake = discriminator(torch.cat([sketch, fake.detach()], 1))
            pred_real = discriminator(torch.cat([sketch, photo], 1))
            loss_d = 0.5 * (bce(pred_fake.float(), torch.zeros_like(pred_fake, dtype=torch.float))
                            + bce(pred_real.float(), torch.ones_like(pred_real, dtype=torch.float)))
        loss_d.backward()
        opt_d.step()
        for parameter in discriminator.parameters():
            parameter.requires_grad_(False)
        opt_g.zero_grad()
        with autocast:
            pred_fake = discriminator(torch.cat([sketch, fake], 1))
            loss_g = (bce(pred_fake.float(), torch.ones_like(pred_fake, dtype=torch.float))
                      + 100 * l1(fake.float(), photo))
        loss_g.backward()
        opt_g.step()
        return float(loss_g)

    for _ in range(2):
        step()
    durations, started = [], time.perf_counter()
    while len(durations) < 3 or time.perf_counter() - started < seconds:
        begin = time.perf_counter()
        step()
        durations.append(time.perf_counter() - begin)
    durations.sort()
    print(json.dumps({'ms_per_step': 1000 * durations[len(durations) // 2],
                      'steps': len(durations), 'torch': torch.__version__,
                      'threads': torch.get_num_threads(),
                      'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
''')

TF_CELL = textwrap.dedent('''
    import json, os, resource, sys
    sys.path.insert(0, os.path.join(sys.argv[4], 'benchmarks'))
    sys.path.insert(0, sys.argv[4])
    import train_step as bench
    batch, precision, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    policy = 'mixed_bfloat16' if precision == 'bfloat16' else 'float32'
    result = bench.time_config(256, batch, policy, False, seconds, 3, sys.argv[5])
    result['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))
''')


def run_cell(python: str, script: str, batch: int, precision: str, seconds: float,
             update_order: str = 'simultaneous') -> dict:
    result = subprocess.run([python, '-c', script, str(batch), precision, str(seconds), REPO,
                             update_order], capture_output=True, text=True, timeout=1800)
    if result.returncode:
        raise SystemExit(f'a benchmark cell failed:\n{result.stderr[-3000:]}')
    return json.loads(result.stdout.strip().splitlines()[-1])


def matmul_peak(dtype_name: str) -> float:
    """GFLOP/s of a 4096x4096 TensorFlow matmul (median of 10), this machine's practical peak."""
    import tensorflow as tf

    dtype = getattr(tf, dtype_name)
    a = tf.random.uniform([4096, 4096], dtype=tf.float32)
    a = tf.cast(a, dtype)
    matmul = tf.function(lambda x: tf.matmul(x, x))
    matmul(a).numpy()
    times = []
    for _ in range(10):
        started = time.perf_counter()
        matmul(a).numpy()
        times.append(time.perf_counter() - started)
    return 2 * 4096 ** 3 / sorted(times)[len(times) // 2] / 1e9


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--torch_python', default=sys.executable,
                        help='a Python that can import torch (default: this one)')
    parser.add_argument('--batch_sizes', default='1,4')
    parser.add_argument('--precisions', default='float32,bfloat16')
    parser.add_argument('--seconds', type=float, default=20.0, help='timing per cell and round')
    parser.add_argument('--rounds', type=int, default=2, help='alternations of the two sides')
    parser.add_argument('--update_orders', default='simultaneous,alternating',
                        help="pix2pix_tf's update orders to time (--update_order)")
    args = parser.parse_args()
    probe = subprocess.run([args.torch_python, '-c', 'import torch'], capture_output=True)
    if probe.returncode:
        raise SystemExit(f'{args.torch_python} cannot import torch: install the CPU build in a '
                         f'separate venv and pass its python as --torch_python (see --help).')
    sys.path.insert(0, os.path.join(REPO, 'benchmarks'))
    sys.path.insert(0, REPO)
    import train_step as bench

    orders = args.update_orders.split(',')
    tf_flops = {order: bench.step_flops(256, order) for order in orders}
    reference_flops = bench.step_flops(256, 'alternating')  # The reference's passes.
    peaks = {'float32': matmul_peak('float32'), 'bfloat16': matmul_peak('bfloat16')}
    cells = {}
    for _ in range(args.rounds):
        for precision in args.precisions.split(','):
            for batch in map(int, args.batch_sizes.split(',')):
                sides = [('torch', args.torch_python, TORCH_CELL, '')] + [
                    (order, sys.executable, TF_CELL, order) for order in orders]
                for side, python, script, order in sides:
                    cells.setdefault((precision, batch, side), []).append(
                        run_cell(python, script, batch, precision, args.seconds, order))
    torch_version = next((r[0]['torch'] for k, r in cells.items() if k[2] == 'torch'), '?')
    print(f'\n256x256, {os.cpu_count()} CPU cores, TensorFlow {bench.tf.__version__} / Keras '
          f'{bench.keras.__version__} vs PyTorch {torch_version}, jit off, median of '
          f'{args.rounds} alternating rounds of >= {args.seconds:.0f} s per cell')
    print(f'matmul peak (TF 4096x4096): float32 {peaks["float32"]:.0f} GFLOP/s, bfloat16 '
          f'{peaks["bfloat16"]:.0f} GFLOP/s; conv FLOPs per image and step: reference '
          f'{reference_flops / 1e9:.1f} G, pix2pix_tf ' + ', '.join(
              f'{order} {flops / 1e9:.1f} G' for order, flops in tf_flops.items()))
    print('| precision | batch | PyTorch reference ms | reference GFLOP/s | ' + ' | '.join(
        f'pix2pix_tf {order} ms | speed-up | GFLOP/s (% of peak)' for order in orders) +
        ' | peak RSS MB (reference / ' + ' / '.join(orders) + ') |')
    print('|---|---|---|---|' + '---|---|---|' * len(orders) + '---|')
    for precision in args.precisions.split(','):
        for batch in map(int, args.batch_sizes.split(',')):
            torch_ms = median([r['ms_per_step'] for r in cells[(precision, batch, 'torch')]])
            row = [precision, str(batch), f'{torch_ms:.0f}',
                   f'{reference_flops * batch / torch_ms / 1e6:.0f}']
            rss = [max(r['peak_rss_mb'] for r in cells[(precision, batch, 'torch')])]
            for order in orders:
                tf_ms = median([r['ms_per_step'] for r in cells[(precision, batch, order)]])
                gflops = tf_flops[order] * batch / tf_ms / 1e6
                row += [f'{tf_ms:.0f}', f'{torch_ms / tf_ms:.2f}x',
                        f'{gflops:.0f} ({100 * gflops / peaks[precision]:.0f}%)']
                rss.append(max(r['peak_rss_mb'] for r in cells[(precision, batch, order)]))
            print('| ' + ' | '.join(row) + ' | ' + ' / '.join(f'{v:.0f}' for v in rss) + ' |',
                  flush=True)

if __name__ == '__main__':
    main()
