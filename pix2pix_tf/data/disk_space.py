"""A full disk, told in one line: which folder, how many bytes are needed, how many are free.

Used by training (before and during each checkpoint save, and at each summary window: the
TensorBoard writer drops events silently once the disk is full, so free space is checked
instead of trusting it) and by export. No TensorFlow here: TensorFlow reports a full disk as a
`ResourceExhaustedError` whose message holds the OS's words, which `is_disk_full` reads.
"""

import errno
import os
import shutil

# The OS's words for ENOSPC and EDQUOT, as they appear in TensorFlow's error messages.
_DISK_FULL_WORDS = ('No space left on device', 'Disk quota exceeded')
MARGIN_BYTES = 1 << 20  # Room for the state file, checksums, config.json and summaries.


class DiskFullError(Exception):
    """There is not enough space to write what must be written; one line that says what to do."""


def is_disk_full(error: BaseException) -> bool:
    """Whether an OSError or a TensorFlow error was caused by a full disk (or quota)."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    message = getattr(error, 'message', None) or str(error)
    return any(words in message for words in _DISK_FULL_WORDS)


def free_bytes(path: str) -> int:
    """Bytes free to this user on the file system holding `path` (or its nearest parent)."""
    path = os.path.abspath(path)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return shutil.disk_usage(path).free


def megabytes(count: int) -> str:
    return f'{count / 1e6:.1f} MB'


def message(folder: str, what: str, needed: int, then: str, at_least: bool = False) -> str:
    """`<folder>: no space left on its disk for <what> (needs about N MB, M MB free); <then>.`

    `at_least`: `needed` is a lower bound (what a failed write had written), not an estimate.
    """
    return (f'{folder}: no space left on its disk for {what} (needs '
            f'{"at least" if at_least else "about"} {megabytes(needed)}, '
            f'{megabytes(free_bytes(folder))} free); {then}.')


def check(folder: str, needed: int, what: str, then: str) -> None:
    """DiskFullError (`message`) unless `needed` bytes plus a margin are free under `folder`."""
    if free_bytes(folder) < needed + MARGIN_BYTES:
        raise DiskFullError(message(folder, what, needed + MARGIN_BYTES, then))


def error_message(error: BaseException, folder: str, needed: int, then: str) -> str:
    """`message` for a full disk met by `error` (an OSError, or TensorFlow's
    "<file>; No space left on device"), naming the file it was writing when it says."""
    path = getattr(error, 'filename', None)
    if not path:
        words = (getattr(error, 'message', None) or str(error)).split(';')[0].split()
        path = words[-1] if words and os.sep in words[-1] else None
    folder = os.path.dirname(path) if path else folder
    what = f'writing {os.path.basename(path)}' if path else 'the run'
    return message(folder, what, needed, then)
