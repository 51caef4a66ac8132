"""Numbered version folders, as TF Serving watches them: <export_dir>/1/, 2/, ...

`write_version` puts any export (SavedModel, TFLite, .keras) in place atomically: it is written
to a hidden temporary folder that is then renamed, so TF Serving never sees a half-written
version and an interrupted export leaves none. `write_model_card` adds assets.extra/pix2pix.json.
"""

import json
import os
import shutil
import tempfile

from pix2pix_tf.data import disk_space


class ExportError(ValueError):
    """An export a user can fix (existing version, bad path); one line that says how."""


TEMP_PREFIX = '.tmp-export-'  # Not a number: TF Serving never loads it as a version.
MODEL_CARD = 'pix2pix.json'


def numeric_versions(export_dir: str) -> list[int]:
    """The version numbers (numeric sub-folders) under export_dir, ascending."""
    if not os.path.isdir(export_dir):
        return []
    return sorted(int(name) for name in os.listdir(export_dir)
                  if name.isdigit() and os.path.isdir(os.path.join(export_dir, name)))


def _default_folder_mode() -> int:
    """Mode of a folder made with os.makedirs under the current umask (0755 under umask 022).

    Read from /proc (Linux) where possible: os.umask() can only be read by setting it, which
    races with other threads.
    """
    try:
        with open('/proc/self/status') as status:
            umask = next(int(line.split()[1], 8) for line in status if line.startswith('Umask:'))
    except (OSError, StopIteration, ValueError):
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o777 & ~umask


def _owner_alive(name: str) -> bool:
    """Whether the process that made temporary folder `name` (TEMP_PREFIX<pid>-...) still runs."""
    pid = name[len(TEMP_PREFIX):].split('-', 1)[0]
    if not pid.isdigit():
        return False  # Made before folders carried a pid.
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # Alive, another user's.
    return True


def write_version(export_dir: str, version: int | None, overwrite: bool, write) -> str:
    """Calls write(folder) on a hidden temporary folder, then renames it <export_dir>/<version>.

    TF Serving (which watches export_dir for numeric folders) never sees a half-written version,
    and an interrupted or failed write leaves no version folder. `version` defaults to one more
    than the highest existing one; an existing version is an ExportError unless `overwrite`.
    The folder gets the mode `os.makedirs` would give (mkdtemp's 0700 would hide the model
    from a server running under another user): readable by every user under the usual umask
    022, as TensorFlow's own files in it. Temporary folders of exports that were killed are
    removed; those of exports still running (another process) are left alone.
    """
    os.makedirs(export_dir, exist_ok=True)
    version = version or (max(numeric_versions(export_dir), default=0) + 1)
    final = os.path.join(export_dir, str(version))
    if os.path.exists(final) and not overwrite:
        next_version = max(numeric_versions(export_dir), default=0) + 1
        raise ExportError(f'{final} already exists; pass --overwrite to replace it, or omit '
                          f'--version to write version {next_version}.')
    for stale in os.listdir(export_dir):  # Left by an export that was killed.
        if stale.startswith(TEMP_PREFIX) and not _owner_alive(stale):
            shutil.rmtree(os.path.join(export_dir, stale), ignore_errors=True)
    temporary = tempfile.mkdtemp(prefix=f'{TEMP_PREFIX}{os.getpid()}-', dir=export_dir)
    try:
        os.chmod(temporary, _default_folder_mode())
        write(temporary)
        if os.path.exists(final):  # --overwrite: swap, then delete the old version.
            retired = tempfile.mkdtemp(prefix=f'{TEMP_PREFIX}{os.getpid()}-', dir=export_dir)
            os.rename(final, os.path.join(retired, 'old'))
            os.rename(temporary, final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(temporary, final)
    except BaseException as error:
        written = sum(stat.st_size for stat in _files_under(temporary))
        shutil.rmtree(temporary, ignore_errors=True)
        if disk_space.is_disk_full(error):  # TensorFlow's or Python's own words for ENOSPC.
            raise disk_space.DiskFullError(disk_space.message(
                export_dir, f'version {version}', written + disk_space.MARGIN_BYTES,
                'free some space and export again (no version folder was left)',
                at_least=True)) from None
        raise
    return final


def _files_under(folder: str):
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                yield os.stat(os.path.join(root, name))
            except OSError:
                continue


def write_model_card(folder: str, card: dict) -> None:
    """Writes card to <folder>/assets.extra/pix2pix.json (TF Serving ignores assets.extra)."""
    os.makedirs(os.path.join(folder, 'assets.extra'), exist_ok=True)
    with open(os.path.join(folder, 'assets.extra', MODEL_CARD), 'w') as file:
        json.dump(card, file, indent=2, sort_keys=True)
        file.write('\n')
