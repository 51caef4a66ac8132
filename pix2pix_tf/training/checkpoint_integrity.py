"""Damaged checkpoints: found before they are used, set aside, never trained on or deleted.

A checkpoint `<folder>/ckpt-N` is its files `ckpt-N.index` and `ckpt-N.data-*`. After each
save, training writes `ckpt-N.sha256` beside them, in `sha256sum` format (so
`cd <folder> && sha256sum -c ckpt-N.sha256` checks it by hand too). `problem(prefix)` checks a
checkpoint against it; one written before checksums (or whose checksum file is itself
unreadable) is checked by reading every tensor, which TensorFlow's own CRCs cover.

A truncated, zero-filled or bit-flipped file, data or index, would otherwise crash every later
start with a traceback from the checkpoint reader (`IndexError: Read less bytes than
requested`), or be trained on. `newest_readable` walks the checkpoints on disk from the newest,
renames each damaged one's files to `<name>.damaged` (kept for a post-mortem, never deleted),
names it in one line, and returns the newest readable one. It goes by the files on disk, not
by the `checkpoint` state file: a damaged state file made TensorFlow's `latest_checkpoint`
return None, and training silently started again from step 0. The state file is rewritten
from the readable checkpoints whenever it does not name them (a damaged one is set aside too).
"""

import hashlib
import os
import re
import sys

import tensorflow as tf

from pix2pix_tf import config as config_lib

CHECKSUM_SUFFIX = '.sha256'
DAMAGED_SUFFIX = '.damaged'
STATE_FILE = 'checkpoint'  # TensorFlow's CheckpointManager state (latest and kept paths).
_STATE_LINE = re.compile(r'(model_checkpoint_path|all_model_checkpoint_paths): "[^"]*"'
                         r'|(all_model_checkpoint_timestamps|last_preserved_timestamp): '
                         r'[0-9.eE+-]+')
_PREFIX = re.compile(r'^ckpt-(\d+)\.index$')
_CHUNK = 1 << 20


def warn(line: str) -> None:
    """The default `log`: one line on standard error."""
    print(line, file=sys.stderr)


class NoReadableCheckpoint(config_lib.ConfigError):
    """Every checkpoint of a folder is damaged; the message says what to do."""


class DamagedCheckpoint(config_lib.ConfigError):
    """The checkpoint asked for by its step is damaged (and was set aside)."""


def steps_on_disk(directory: str) -> list[int]:
    """Steps N with a `ckpt-N.index` file in `directory`, ascending ([] when none)."""
    if not os.path.isdir(directory):
        return []
    return sorted(int(match.group(1)) for match in map(_PREFIX.match, os.listdir(directory))
                  if match)


def files_of(prefix: str) -> list[str]:
    """The files of checkpoint `prefix` (.../ckpt-N): its index and data shards, by name."""
    directory, base = os.path.split(prefix)
    if not os.path.isdir(directory or '.'):
        return []  # A non-chief worker's temporary save folder, already removed.
    names = sorted(name for name in os.listdir(directory or '.')
                   if name == base + '.index' or name.startswith(base + '.data-'))
    return [os.path.join(directory, name) for name in names]


def size_of(prefix: str) -> int:
    """Bytes the checkpoint's files take on disk (0 when none is there)."""
    return sum(os.path.getsize(path) for path in files_of(prefix))


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_checksum(prefix: str) -> str:
    """Writes `<prefix>.sha256` for the checkpoint's files (atomically); returns its path."""
    lines = ''.join(f'{_sha256(path)}  {os.path.basename(path)}\n' for path in files_of(prefix))
    path = prefix + CHECKSUM_SUFFIX
    temporary = path + '.tmp'
    with open(temporary, 'w') as file:
        file.write(lines)
    os.replace(temporary, path)
    return path


def remove_stale_checksums(directory: str) -> None:
    """Deletes the `.sha256` files of checkpoints CheckpointManager deleted (--keep_checkpoints)."""
    for name in os.listdir(directory):
        if name.endswith(CHECKSUM_SUFFIX) and not os.path.exists(
                os.path.join(directory, name[:-len(CHECKSUM_SUFFIX)] + '.index')):
            os.remove(os.path.join(directory, name))


def _read_checksums(prefix: str) -> dict[str, str] | None:
    """{file name: sha256} from `<prefix>.sha256`; None when absent or unreadable."""
    try:
        with open(prefix + CHECKSUM_SUFFIX, encoding='ascii') as file:
            entries = [line.split('  ', 1) for line in file.read().splitlines()]
    except (OSError, UnicodeDecodeError):
        return None
    if not entries or any(len(entry) != 2 or not re.fullmatch(r'[0-9a-f]{64}', entry[0])
                          for entry in entries):
        return None  # A damaged checksum file: fall back to reading every tensor.
    return {name: digest for digest, name in entries}


def _expected_shards(names: list[str]) -> set[str]:
    """The data shard names the shard count in any data file name implies."""
    for name in names:
        match = re.search(r'(.*\.data-)\d{5}-of-(\d{5})$', name)
        if match:
            count = int(match.group(2))
            return {f'{match.group(1)}{index:05d}-of-{count:05d}' for index in range(count)}
    return set()


def problem(prefix: str) -> str | None:
    """Why checkpoint `prefix` cannot be restored (a short phrase), or None when it can."""
    files = files_of(prefix)
    names = [os.path.basename(path) for path in files]
    base = os.path.basename(prefix)
    if base + '.index' not in names:
        return f'{base}.index is missing'
    data = [name for name in names if name != base + '.index']
    if not data:
        return f'{base} has no data file'
    missing = sorted(_expected_shards(data) - set(data))
    if missing:
        return f'{missing[0]} is missing'
    checksums = _read_checksums(prefix)
    if checksums is not None:
        for name in sorted(checksums):
            path = os.path.join(os.path.dirname(prefix), name)
            if not os.path.isfile(path):
                return f'{name} is missing'
            if _sha256(path) != checksums[name]:
                return (f'{name} does not match {base}{CHECKSUM_SUFFIX} (truncated, zeroed or '
                        f'changed on disk)')
        return None
    try:  # No checksum: read every tensor (TensorFlow checks each one's CRC).
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except (tf.errors.OpError, ValueError, IndexError, RuntimeError) as error:
        # IndexError: TensorFlow's reader on a truncated data file ("Read less bytes ...").
        reason = getattr(error, 'message', None) or str(error) or type(error).__name__
        return f'unreadable ({reason.strip().splitlines()[0][:160]})'
    return None


def _free_name(path: str) -> str:
    candidate, index = path + DAMAGED_SUFFIX, 2
    while os.path.exists(candidate):
        candidate, index = f'{path}{DAMAGED_SUFFIX}-{index}', index + 1
    return candidate


def set_aside(prefix: str) -> list[str]:
    """Renames the checkpoint's files (its checksum too) to `<name>.damaged`; the new paths.

    Never deletes: a later save of the same step gets `<name>.damaged-2` on its next damage.
    """
    renamed = []
    for path in files_of(prefix) + [prefix + CHECKSUM_SUFFIX]:
        if os.path.isfile(path):
            target = _free_name(path)
            os.rename(path, target)
            renamed.append(target)
    return renamed


def _state_names(directory: str) -> tuple[str, list[str]] | None:
    """(latest, all kept) checkpoint base names of the state file; None when unreadable."""
    try:
        with open(os.path.join(directory, STATE_FILE), encoding='utf-8') as file:
            text = file.read()
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.split('\n')
    if lines[-1] or not all(map(_STATE_LINE.fullmatch, lines[:-1])):
        return None  # Cut short, zeroed or changed: TensorFlow would ignore it (step 0).
    entries = [line.split(': ', 1) for line in lines[:-1]]
    latest = [value.strip('"') for key, value in entries if key == 'model_checkpoint_path']
    kept = [value.strip('"') for key, value in entries if key == 'all_model_checkpoint_paths']
    if len(latest) != 1:
        return None
    return os.path.basename(latest[0]), [os.path.basename(path) for path in kept]


def repair_state_file(directory: str, steps: list[int], log=warn) -> None:
    """Makes the state file name checkpoints `steps` (ascending; the last is the latest).

    A state file that does not parse is set aside first; one that names other checkpoints (a
    set-aside one, or one written before a crash finished) is rewritten. Atomic.
    """
    names = [f'ckpt-{step}' for step in steps]
    state = _state_names(directory)
    if state == (names[-1], names):
        return
    path = os.path.join(directory, STATE_FILE)
    if state is None and os.path.exists(path):
        target = _free_name(path)
        os.rename(path, target)
        log(f'{path} is damaged: set aside as {os.path.basename(target)}; rewritten from the '
            f'checkpoints on disk.')
    # Written here: TensorFlow's public writer is a deprecated v1 call that logs a warning.
    # CheckpointManager manages (and deletes past --keep_checkpoints) only paths stamped
    # after last_preserved_timestamp: their index files' modification times.
    stamps = [os.path.getmtime(os.path.join(directory, name + '.index')) for name in names]
    text = (f'model_checkpoint_path: "{names[-1]}"\n'
            + ''.join(f'all_model_checkpoint_paths: "{name}"\n' for name in names)
            + ''.join(f'all_model_checkpoint_timestamps: {stamp!r}\n' for stamp in stamps)
            + f'last_preserved_timestamp: {min(stamps) - 1.0!r}\n')
    temporary = path + '.tmp'
    with open(temporary, 'w', encoding='utf-8') as file:
        file.write(text)
    os.replace(temporary, path)


def newest_readable(directory: str, log=warn, rename: bool = True) -> str | None:
    """The newest readable checkpoint prefix in `directory`; None when there is none at all.

    Damaged ones newer than it are named through `log` and (with `rename`) set aside, and the
    state file is repaired. Raises NoReadableCheckpoint when checkpoints exist but none reads.
    """
    steps = steps_on_disk(directory)
    damaged = []
    for step in reversed(steps):
        prefix = os.path.join(directory, f'ckpt-{step}')
        reason = problem(prefix)
        if reason is None:
            if rename:
                repair_state_file(directory, [kept for kept in steps if kept <= step], log)
            return prefix
        aside = ' (set aside as ckpt-N.*.damaged)' if rename else ''
        log(f'checkpoint {prefix} is damaged: {reason}; using an older one{aside}.')
        if rename:
            set_aside(prefix)
        damaged.append(os.path.basename(prefix))
    if damaged:
        kept = 'kept as *.damaged' if rename else 'left in place'
        raise NoReadableCheckpoint(
            f'no readable checkpoint in {directory} ({", ".join(damaged)} damaged, {kept}): '
            f'restore the folder from a backup, or move it away to start again from step 0.')
    return None
