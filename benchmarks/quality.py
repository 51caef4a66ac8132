"""Dev-set quality of training recipes: L1, PSNR, SSIM and the realism statistics
(docs/evaluation.md, "Realism") in both inference modes, thin and thick strokes, with and
without the generator's moving average, and the wall-clock of each run.

    python benchmarks/dev_split.py                   # once: runs/dev/{train,val} (999 + 100)
    python benchmarks/quality.py                     # trains and scores the two recipes below
    python benchmarks/quality.py --score name=runs/quality/cpu [...]   # score workdirs only
    python benchmarks/quality.py --recipes= --variant l1w200='--l1_weight=200'  # cpu.flags + flags
    python benchmarks/quality.py --grid docs/dev_results.jpg --grid_from runs/quality/cpu
    python benchmarks/quality.py --grid docs/realism_grid.jpg --grid_from runs/quality/reference \
        runs/quality/cpu runs/quality/diffaug      # side by side, one column per run

Recipes (trained into runs/quality/<name> unless that workdir is finished):
  reference   the PyTorch reference's short recipe run by pix2pix_tf: 128x128, batch 4, 1,400
              steps, lr 2e-4 (constant, then linear to zero over the second half), no jitter;
              with --ema_decay=0.999 (the average never feeds back into training), so one run gives
              the recipe's own rows ("trained") and its EMA rows
  cpu         python train.py --flagfile=cpu.flags
  --variant NAME='FLAGS'   cpu.flags followed by FLAGS (later flags win), for the "what the runs
              showed" experiments in docs/quality.md
Scored on the 100 held-out dev pairs (runs/dev/val, the list in benchmarks/dev_set.txt), at the
model's size, as drawn ("thin") and with strokes dilated 5x5 ("thick": a wide pen). L1 is shown
in 0-1 units (mean |error| / 255, half of the [-1, 1] value evaluate.py prints) to compare with
the pix2pix literature; PSNR and SSIM on uint8 pixels as evaluate.py. The dev split needs
../shared (the maintainers' larger private sample); without it this script stops.
"""

import argparse
import glob
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from pix2pix_tf import config as config_lib  # noqa: E402  (no TensorFlow here)
DEV = os.path.join(REPO, 'runs', 'dev')
RECIPES = {
    'reference': ['--image_size=128', '--load_size=128', '--batch_size=4',
                  '--learning_rate=2e-4', '--train_steps=1400', '--lr_decay_steps=700',
                  '--log_every=100', '--eval_every=700', '--eval_examples=0',
                  '--sample_every=1400', '--checkpoint_every=700', '--keep_checkpoints=2',
                  '--ema_decay=0.999'],
    'cpu': ['--flagfile=cpu.flags'],
}
THICK = 5
REALISM = ('colour_ratio', 'colour_distance', 'texture_ratio', 'two_sample_accuracy')


def train(name: str, flags: list[str], workdir: str) -> float:
    """Trains a recipe on the dev split's training pairs; returns the wall-clock seconds."""
    started = time.perf_counter()
    command = [sys.executable, 'train.py', *flags, f'--dataset={DEV}', f'--workdir={workdir}']
    print('$ ' + ' '.join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=True)
    seconds = time.perf_counter() - started
    with open(os.path.join(workdir, 'wall_seconds.txt'), 'w') as file:
        file.write(f'{seconds:.0f}\n')
    return seconds


def score(workdir: str) -> list[dict]:
    """Rows {'weights', 'mode', 'strokes', 'l1', 'psnr', 'ssim'} for one trained workdir."""
    from pix2pix_tf.data import input_pipeline
    from pix2pix_tf.data import record_readers
    from pix2pix_tf.evaluation import pixel_metrics
    from pix2pix_tf.training import checkpoints

    files = sorted(glob.glob(os.path.join(DEV, 'val', '*.jpg')))
    config = config_lib.read_workdir_config(workdir)
    rows = []
    for use_ema in ([True, False] if config.ema_decay else [False]):
        _, generator, _ = checkpoints.restore_generator(workdir, use_ema=use_ema)
        for mode in ('paper', 'eval'):
            step = pixel_metrics.make_eval_step(generator, mode)
            for strokes, size in (('thin', 0), ('thick', THICK)):
                dataset = input_pipeline.pairs_dataset(
                    *record_readers.ab_file_records(files), config.image_size, 10,
                    thicken_strokes=size)
                metrics = pixel_metrics.evaluate(step, dataset).metrics
                rows.append({'weights': 'EMA' if use_ema else 'trained', 'mode': mode,
                             'strokes': strokes, 'l1': metrics['l1'] / 2,
                             **{name: metrics[name] for name in ('psnr', 'ssim') + REALISM}})
    return rows


def grid(workdirs: list[str], path: str, count: int) -> None:
    """A JPEG of dev pairs, one row each: sketch | each workdir's output (its export's default
    mode, at 128x128 for every run so the columns line up) | real photo."""
    import cv2
    import numpy as np

    from pix2pix_tf.data import input_pipeline
    from pix2pix_tf.data import record_readers
    from pix2pix_tf.evaluation import pixel_metrics
    from pix2pix_tf.training import checkpoints

    files = sorted(glob.glob(os.path.join(DEV, 'val', '*.jpg')))[::max(1, 100 // count)][:count]
    columns, modes = [], []
    for workdir in workdirs:
        config, generator, _ = checkpoints.restore_generator(workdir)
        dataset = input_pipeline.pairs_dataset(*record_readers.ab_file_records(files),
                                               config.image_size, count)
        result = pixel_metrics.evaluate(
            pixel_metrics.make_eval_step(generator, config.inference_mode), dataset,
            keep_examples=count, with_realism=False)
        resize = [cv2.resize(image, (128, 128), interpolation=cv2.INTER_AREA)
                  for image in result.examples['generated']]
        if not columns:
            columns.append([np.repeat(cv2.resize(image, (128, 128))[..., None], 3, -1)
                            for image in result.examples['sketch']])
            photos = [cv2.resize(image, (128, 128)) for image in result.examples['photo']]
        columns.append(resize)
        modes.append(f'{os.path.basename(os.path.normpath(workdir))} ({config.inference_mode})')
    columns.append(photos)
    rows = [np.concatenate([column[i] for column in columns], 1) for i in range(count)]
    half = (count + 1) // 2 if len(workdirs) == 1 else count  # Two columns of rows for one run.
    left, right = rows[:half], rows[half:]
    right += [np.full_like(rows[0], 255)] * (half - len(right) if right else 0)
    parts = [np.concatenate(left, 0)]
    if right:
        parts += [np.full([half * rows[0].shape[0], 8, 3], 255, np.uint8),
                  np.concatenate(right, 0)]
    image = np.concatenate(parts, 1)
    cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f'{path}: {count} dev pairs, sketch | {" | ".join(modes)} | photo')


def table(results: dict) -> str:
    lines = ['| recipe | weights | inference mode | strokes | L1 (0-1) | PSNR (dB) | SSIM | '
             'colour ratio | colour JS | texture ratio | 2-sample acc. | wall-clock |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for name, (rows, seconds) in results.items():
        for row in rows:
            wall = f'{seconds / 60:.1f} min' if seconds else '-'
            realism = ' | '.join(f'{row[key]:.3f}' for key in REALISM)
            lines.append(f'| {name} | {row["weights"]} | {row["mode"]} | {row["strokes"]} | '
                         f'{row["l1"]:.4f} | {row["psnr"]:.2f} | {row["ssim"]:.4f} | {realism} | '
                         f'{wall} |')
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--recipes', default='reference,cpu')
    parser.add_argument('--score', nargs='*', default=[],
                        help='name=workdir pairs to score instead of training the recipes')
    parser.add_argument('--variant', action='append', default=[],
                        help="NAME='--flag=value ...': also train cpu.flags plus these flags")
    parser.add_argument('--grid', help='write a grid JPEG of dev results here')
    parser.add_argument('--grid_from', nargs='+', default=[],
                        help='the workdirs the grid shows, one column each')
    parser.add_argument('--grid_count', type=int, default=12)
    args = parser.parse_args()
    if not os.path.isdir(os.path.join(DEV, 'val')):
        sys.exit('quality.py: error: runs/dev not found; run python benchmarks/dev_split.py '
                 'first (it needs ../shared/data/realshoes).')
    if args.grid:
        grid(args.grid_from, args.grid, args.grid_count)
        return
    workdirs = dict(item.split('=', 1) for item in args.score)
    seconds = {}
    recipes = dict(RECIPES)
    names = [name for name in args.recipes.split(',') if name]
    for variant in args.variant:
        name, _, flags = variant.partition('=')
        if not name or name in RECIPES or not flags.startswith('--'):
            sys.exit(f"quality.py: error: --variant {variant!r}: expected NAME='--flag=value ...' "
                     f"with a NAME other than {', '.join(RECIPES)}.")
        recipes[name] = RECIPES['cpu'] + flags.split()
        names.append(name)
    if not workdirs:
        for name in names:
            if name not in recipes:
                sys.exit(f'quality.py: error: unknown recipe {name!r}; one of '
                         f'{", ".join(RECIPES)} or a --variant.')
            workdir = os.path.join(REPO, 'runs', 'quality', name)
            if not os.path.isfile(os.path.join(workdir, 'wall_seconds.txt')):
                train(name, recipes[name], workdir)
            workdirs[name] = workdir
    for name, workdir in workdirs.items():
        path = os.path.join(workdir, 'wall_seconds.txt')
        seconds[name] = float(open(path).read()) if os.path.isfile(path) else 0.0
    results = {name: (score(workdir), seconds[name]) for name, workdir in workdirs.items()}
    print(f'\n{len(os.listdir(os.path.join(DEV, "val")))} dev pairs (benchmarks/dev_set.txt); '
          f'thick = strokes dilated {THICK}x{THICK}\n')
    print(table(results))


if __name__ == '__main__':
    main()
