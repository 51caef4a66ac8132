"""Time to a good shoe: the PyTorch reference's recipe in PyTorch and pix2pix_tf's cpu.flags,
each trained for the same wall-clock budget on this machine, one after the other, scored on the
dev set against minutes of training.

    python benchmarks/dev_split.py        # once: runs/dev/{train,val} (needs ../shared)
    python benchmarks/time_to_quality.py --torch_python /path/to/torchvenv/bin/python \\
        [--minutes 12] [--plot docs/time_to_quality.png] [--out runs/time_to_quality]

Run it alone: both runs are timed by the wall clock, so anything else on the machine slows them.

- Reference: the architecture and recipe of vs_pytorch.py's reference (junyanz
  pix2pix: UnetGenerator with 64 filters, batch norm and dropout, the 70x70 PatchGAN with
  batch norm, BCE-with-logits + 100 x L1, Adam 2e-4 with betas 0.5/0.999, D step then G step)
  at 128x128 and batch 4, in PyTorch from a separate venv (torch is never a dependency of
  pix2pix_tf). Its learning rate is constant for the first half of the budget and falls
  linearly to zero at its end (junyanz's n_epochs + n_epochs_decay, by time instead of epochs,
  since the number of steps that fit is not known in advance). No jitter (as quality.py's
  `reference` recipe). It saves the generator every --snapshot_seconds of training; saving is
  not counted.
- pix2pix_tf: `train.py --flagfile=cpu.flags` with checkpoints every 250 steps; each
  checkpoint's time is when its file appears, counted from the command's start (TensorFlow's
  import and the data cache included; checkpoint writing counted). cpu.flags ends on its own
  (12,000 steps) or is stopped at the budget.
Both train on the same 999 dev-split training pairs, resized to 128x128 by pix2pix_tf's
pipeline and handed to PyTorch as arrays. After both runs every snapshot is scored on the 100
dev pairs (the scoring is outside both clocks): L1 in 0-1 units as docs/quality.md, SSIM, and
the realism statistics (docs/evaluation.md); the reference in its own test mode (junyanz
test.py without --eval: batch statistics and dropout on, one image at a time), pix2pix_tf's
generator average in eval mode (with instance norm and no dropout the same as paper mode).

Prints, and draws into --plot (needs matplotlib: pip install -e ".[bench]"), dev L1 and the
two-sample accuracy against minutes for both runs; when each first reaches the reference's
final dev L1; and what each has reached at a quarter, half and all of the budget (3, 6 and 12
minutes by default: the latest snapshot by then; the last snapshot for the whole budget).
`--report_only` prints the table and redraws the plot from an earlier run's --out.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import textwrap
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = os.path.join(REPO, 'benchmarks')
DEV = os.path.join(REPO, 'runs', 'dev')
SIZE = 128
MARKS = (3, 6, 12)

TORCH_TRAIN = textwrap.dedent('''
    import time
    started = time.perf_counter()
    import json, os, sys
    import numpy as np
    budget, snapshot_every, arrays, out, benchmarks = sys.argv[1:6]
    budget, snapshot_every = float(budget), float(snapshot_every)
    sys.path.insert(0, benchmarks)
    import torch
    from torch import nn
    import torch_reference
    torch.manual_seed(0)
    data = np.load(arrays)
    sketches = torch.from_numpy(data['train_sketches']).permute(0, 3, 1, 2).float() / 127.5 - 1
    photos = torch.from_numpy(data['train_photos']).permute(0, 3, 1, 2).float() / 127.5 - 1
    generator = torch_reference.unet(64, 'batch', True, sketches.shape[-1])
    discriminator = torch_reference.patch_discriminator(64)
    adam = dict(lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(generator.parameters(), **adam)
    opt_d = torch.optim.Adam(discriminator.parameters(), **adam)
    bce, l1 = nn.BCEWithLogitsLoss(), nn.L1Loss()
    paused, step, snapshots, order = 0.0, 0, [], torch.randperm(len(sketches))
    position, next_snapshot = 0, snapshot_every

    def clock():
        return time.perf_counter() - started - paused

    while clock() < budget:
        if position + 4 > len(order):
            order, position = torch.randperm(len(sketches)), 0
        index = order[position:position + 4]
        position += 4
        sketch, photo = sketches[index], photos[index]
        fraction = clock() / budget
        lr = 2e-4 * min(1.0, 2 * (1 - fraction))
        for optimizer in (opt_g, opt_d):
            for group in optimizer.param_groups:
                group['lr'] = lr
        fake = generator(sketch)
        for parameter in discriminator.parameters():
            parameter.requires_grad_(True)
        opt_d.zero_grad()
        pred_fake = discriminator(torch.cat([sketch, fake.detach()], 1))
        pred_real = discriminator(torch.cat([sketch, photo], 1))
        loss_d = 0.5 * (bce(pred_fake, torch.zeros_like(pred_fake))
                        + bce(pred_real, torch.ones_like(pred_real)))
        loss_d.backward()
        opt_d.step()
        for parameter in discriminator.parameters():
            parameter.requires_grad_(False)
        opt_g.zero_grad()
        pred_fake = discriminator(torch.cat([sketch, fake], 1))
        loss_g = bce(pred_fake, torch.ones_like(pred_fake)) + 100 * l1(fake, photo)
        loss_g.backward()
        opt_g.step()
        step += 1
        now = clock()
        if now >= next_snapshot or now >= budget:
            pause = time.perf_counter()
            path = os.path.join(out, f'reference_{step}.pt')
            torch.save(generator.state_dict(), path)
            snapshots.append({'seconds': now, 'step': step, 'path': path})
            print(f'reference: step {step} at {now / 60:.1f} min', flush=True)
            next_snapshot += snapshot_every
            paused += time.perf_counter() - pause
    with open(os.path.join(out, 'reference_snapshots.json'), 'w') as file:
        json.dump({'snapshots': snapshots, 'torch': torch.__version__,
                   'threads': torch.get_num_threads()}, file)
''')

TORCH_SCORE = textwrap.dedent('''
    import json, sys
    import numpy as np
    snapshots, arrays, out, benchmarks = sys.argv[1:5]
    sys.path.insert(0, benchmarks)
    import torch
    import torch_reference
    data = np.load(arrays)
    sketches = torch.from_numpy(data['dev_sketches']).permute(0, 3, 1, 2).float() / 127.5 - 1
    generator = torch_reference.unet(64, 'batch', True, sketches.shape[-1])
    results = {}
    for snapshot in json.load(open(snapshots))['snapshots']:
        generator.load_state_dict(torch.load(snapshot['path']))
        generator.train()  # junyanz test.py without --eval: batch statistics, dropout on.
        torch.manual_seed(0)
        with torch.no_grad():
            photos = torch.cat([generator(sketches[i:i + 1]) for i in range(len(sketches))])
        pixels = ((photos + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        results[str(snapshot['step'])] = pixels.permute(0, 2, 3, 1).numpy()
    np.savez(out, **results)
''')


def dev_arrays(path: str) -> None:
    """The dev split's training and dev pairs at SIZE, uint8, as pix2pix_tf's pipeline reads."""
    import numpy as np

    from pix2pix_tf import config as config_lib
    from pix2pix_tf.serving import exports

    config = config_lib.Config(dataset=DEV, image_size=SIZE, load_size=SIZE)
    train, dev = exports.split_pairs(config, 'train', 0), exports.split_pairs(config, 'eval', 0)
    np.savez(path, train_sketches=np.stack([s for s, _ in train]),
             train_photos=np.stack([p for _, p in train]),
             dev_sketches=np.stack([s for s, _ in dev]), dev_photos=np.stack([p for _, p in dev]))


def train_cpu_flags(workdir: str, budget: float) -> list[dict]:
    """Runs cpu.flags (stopped at `budget` seconds); [{'seconds', 'step'}] of its checkpoints."""
    command = [sys.executable, 'train.py', '--flagfile=cpu.flags', f'--dataset={DEV}',
               f'--workdir={workdir}', '--checkpoint_every=250', '--keep_checkpoints=1000']
    print('$ ' + ' '.join(command), flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
    seen = {}
    while True:
        finished = process.poll() is not None
        now = time.perf_counter() - started
        for path in glob.glob(os.path.join(workdir, 'checkpoints', 'ckpt-*.index')):
            step = int(re.search(r'ckpt-(\d+)\.index$', path).group(1))
            seen.setdefault(step, now)
        if finished:
            break
        if now > budget:
            process.terminate()
            process.wait()
            break
        time.sleep(0.5)
    if process.returncode not in (0, -15):
        raise SystemExit(f'cpu.flags run failed (exit {process.returncode})')
    return [{'seconds': seconds, 'step': step} for step, seconds in sorted(seen.items())
            if seconds <= budget]


def scores(real, generated) -> dict:
    import numpy as np
    import tensorflow as tf

    from pix2pix_tf.evaluation import realism

    ssim = float(tf.reduce_mean(tf.image.ssim(tf.constant(real), tf.constant(generated), 255)))
    l1 = float(np.mean(np.abs(real.astype(np.float64) - generated.astype(np.float64))) / 255)
    return {'l1': l1, 'ssim': ssim, **realism.realism_metrics(real, generated)}


def score_cpu_flags(workdir: str, checkpoints_seen: list[dict], sketches, real) -> list[dict]:
    import numpy as np

    from pix2pix_tf.data import images
    from pix2pix_tf.training import checkpoints

    rows = []
    for entry in checkpoints_seen:
        _, generator, _ = checkpoints.restore_generator(workdir, entry['step'])
        photos = np.concatenate([images.to_uint8(generator(
            images.to_model_range(sketches[i:i + 10]), training=False)).numpy()
            for i in range(0, len(sketches), 10)])
        rows.append({**entry, **scores(real, photos)})
    return rows


def at(rows: list[dict], minutes: float) -> dict | None:
    """The latest snapshot at or before `minutes`."""
    before = [row for row in rows if row['seconds'] <= minutes * 60 + 1e-6]
    return before[-1] if before else None


def first_reaching(rows: list[dict], l1: float) -> dict | None:
    return next((row for row in rows if row['l1'] <= l1), None)


def plot(runs: dict, path: str, minutes: float) -> None:
    try:
        import matplotlib
    except ImportError:
        print(f'No plot: matplotlib is missing (pip install -e ".[bench]"); {path} not written.')
        return
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, rows in runs.items():
        times = [row['seconds'] / 60 for row in rows]
        left.plot(times, [row['l1'] for row in rows], marker='.', label=name)
        right.plot(times, [row['two_sample_accuracy'] for row in rows], marker='.', label=name)
    reference_final = runs['PyTorch reference'][-1]['l1']
    left.axhline(reference_final, color='grey', linestyle=':', linewidth=1)
    left.set(xlabel='minutes of training (2-core CPU)', ylabel='dev L1 (0-1, lower is better)',
             xlim=(0, minutes), title='Pixel error')
    right.axhline(0.5, color='grey', linestyle=':', linewidth=1)
    right.set(xlabel='minutes of training (2-core CPU)', xlim=(0, minutes), ylim=(0.45, 1.01),
              ylabel='two-sample accuracy (0.5 = real)', title='Realism (patch classifier)')
    left.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    print(f'Plot: {path}')


def report(runs: dict, reference_info: dict, minutes: float, dev_pairs: int,
           plot_path: str) -> None:
    """Prints the table and the speed-up and draws the plot, from the scored snapshots."""
    target = runs['PyTorch reference'][-1]
    marks = (minutes / 4, minutes / 2, minutes)  # 3, 6 and 12 with the default budget.
    print(f'\n{minutes:g}-minute budget each, one after the other, {os.cpu_count()} CPU '
          f'cores; PyTorch {reference_info["torch"]} ({reference_info["threads"]} threads); '
          f'{dev_pairs} dev pairs. Target: the reference\'s final dev L1 {target["l1"]:.4f}.')
    print('| run | steps | reaches the target L1 at | ' + ' | '.join(
        f'L1 / SSIM / 2-sample / colour at {m:g} min' for m in marks) + ' |\n|---|---|---|'
        + '---|' * len(marks))
    reached = {}
    for name, rows in runs.items():
        hit = first_reaching(rows, target['l1'])
        reached[name] = hit['seconds'] if hit else None
        cells = []
        for mark in marks:
            row = rows[-1] if mark == minutes and rows else at(rows, mark)
            cells.append(f'{row["l1"]:.4f} / {row["ssim"]:.3f} / {row["two_sample_accuracy"]:.3f}'
                         f' / {row["colour_ratio"]:.2f}' if row else '-')
        when = f'{hit["seconds"] / 60:.1f} min' if hit else 'never'
        print(f'| {name} | {rows[-1]["step"] if rows else 0} | {when} | ' + ' | '.join(cells)
              + ' |')
    ours, theirs = reached['pix2pix_tf cpu.flags'], reached['PyTorch reference']
    if ours:
        print(f'cpu.flags reaches the reference\'s {minutes:g}-minute L1 '
              f'{theirs / ours:.1f}x sooner (goal: 5x).')
    else:
        print(f'cpu.flags never reaches the reference\'s {minutes:g}-minute L1 (goal: 5x sooner).')
    plot(runs, plot_path, minutes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].replace('\n', ' '))
    parser.add_argument('--torch_python', default=sys.executable,
                        help='python of a venv with torch and numpy (default: this python)')
    parser.add_argument('--minutes', type=float, default=12,
                        help='wall-clock training budget of each run (default 12)')
    parser.add_argument('--snapshot_seconds', type=float, default=30,
                        help='seconds of reference training between its snapshots (default 30)')
    parser.add_argument('--out', default=os.path.join(REPO, 'runs', 'time_to_quality'),
                        help='folder for snapshots and results.json; must not exist unless '
                             '--report_only (default runs/time_to_quality)')
    parser.add_argument('--plot', default=os.path.join(REPO, 'docs', 'time_to_quality.png'),
                        help='PNG to draw (default docs/time_to_quality.png)')
    parser.add_argument('--report_only', action='store_true',
                        help='train nothing: print the table and redraw the plot from --out\'s '
                             'results.json (of a run with the same --minutes)')
    args = parser.parse_args()
    results_file = os.path.join(args.out, 'results.json')
    snapshots_file = os.path.join(args.out, 'reference_snapshots.json')
    if args.report_only:
        if not os.path.isfile(results_file):
            raise SystemExit(f'{results_file} is missing: run without --report_only first.')
        with open(results_file) as file, open(snapshots_file) as info:
            runs, reference_info = json.load(file), json.load(info)
        dev_pairs = len(os.listdir(os.path.join(DEV, 'val'))) if os.path.isdir(
            os.path.join(DEV, 'val')) else '?'
        report(runs, reference_info, args.minutes, dev_pairs, args.plot)
        return
    if not os.path.isdir(os.path.join(DEV, 'val')):
        raise SystemExit(f'needs the dev split in {DEV}: run benchmarks/dev_split.py (it needs '
                         f'../shared/data/realshoes, the maintainers\' larger private sample).')
    if subprocess.run([args.torch_python, '-c', 'import torch'], capture_output=True).returncode:
        raise SystemExit(f'{args.torch_python} cannot import torch: pass --torch_python '
                         f'<venv>/bin/python of a venv with torch and numpy.')
    workdir = os.path.join(args.out, 'cpu')
    if os.path.exists(args.out):
        raise SystemExit(f'{args.out} exists: remove it or pass another --out.')
    os.makedirs(args.out)
    sys.path.insert(0, REPO)
    import numpy as np

    arrays = os.path.join(args.out, 'dev_arrays.npz')
    dev_arrays(arrays)
    budget = args.minutes * 60
    print(f'PyTorch reference for {args.minutes:g} minutes ...', flush=True)
    subprocess.run([args.torch_python, '-c', TORCH_TRAIN, str(budget),
                    str(args.snapshot_seconds), arrays, args.out, BENCHMARKS], check=True)
    cpu_checkpoints = train_cpu_flags(workdir, budget)

    print('Scoring (outside both clocks) ...', flush=True)
    subprocess.run([args.torch_python, '-c', TORCH_SCORE, snapshots_file, arrays,
                    os.path.join(args.out, 'reference_photos.npz'), BENCHMARKS], check=True)
    data = np.load(arrays)
    real, sketches = data['dev_photos'], data['dev_sketches']
    with open(snapshots_file) as file:
        reference_info = json.load(file)
    photos = np.load(os.path.join(args.out, 'reference_photos.npz'))
    runs = {'PyTorch reference': [
        {'seconds': s['seconds'], 'step': s['step'], **scores(real, photos[str(s['step'])])}
        for s in reference_info['snapshots']],
        'pix2pix_tf cpu.flags': score_cpu_flags(workdir, cpu_checkpoints, sketches, real)}
    with open(results_file, 'w') as file:
        json.dump(runs, file, indent=1)

    report(runs, reference_info, args.minutes, len(real), args.plot)


if __name__ == '__main__':
    main()
