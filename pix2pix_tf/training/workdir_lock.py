"""One trainer per workdir, checked before TensorFlow starts.

`hold(workdir)` takes an exclusive `fcntl.flock` on `<workdir>/train.lock` for the life of the
training process and writes who holds it (pid, host, start time) into the file. A second
trainer on the same workdir is refused with one line naming the first. The kernel releases a
flock when its process dies, even by `kill -9`, so a lock file left by a killed run does not
block the next one: its old contents are reported ("ended without releasing ...") and the new
run goes on. While the lock is held, `remove_stale_temporaries` deletes the `*_temp` folders a
checkpoint write killed mid-way leaves behind (no other trainer can be writing them).

(flock is advisory and local: two machines training one workdir on a network file system may
not see each other's lock.)
"""

import contextlib
import datetime
import json
import os
import shutil
import socket

try:
    import fcntl
except ImportError:  # Windows: no flock; the lock is then only informative.
    fcntl = None

from pix2pix_tf.config import ConfigError
from pix2pix_tf.data import disk_space

LOCK_FILE = 'train.lock'


def check_writable(workdir: str) -> None:
    """ConfigError (one line) unless workdir can be created and written."""
    try:
        os.makedirs(workdir, exist_ok=True)
        probe = os.path.join(workdir, f'.write-test-{os.getpid()}')
        with open(probe, 'w') as file:
            file.write('ok')
        os.remove(probe)
    except OSError as error:
        if disk_space.is_disk_full(error):
            raise ConfigError(disk_space.message(
                workdir, 'the run', disk_space.MARGIN_BYTES,
                'free some space and run the same command again')) from None
        reason = error.strerror or str(error)
        raise ConfigError(f'--workdir={workdir}: cannot create or write there ({reason}); pass '
                          f'a folder you can write to.') from None


def _describe(holder: dict) -> str:
    return (f'pid {holder.get("pid")} on {holder.get("host")}, started '
            f'{holder.get("started")}')


def _read(lock_file) -> dict:
    lock_file.seek(0)
    try:
        return json.loads(lock_file.read() or '{}')
    except ValueError:
        return {}


@contextlib.contextmanager
def hold(workdir: str, log=print):
    """Holds the workdir's training lock; ConfigError if a live process holds it."""
    path = os.path.join(workdir, LOCK_FILE)
    try:
        lock_file = open(path, 'a+')
    except OSError as error:
        raise ConfigError(f'cannot open {path} ({error.strerror or error}); pass a --workdir you '
                          f'own.') from None
    owned = False
    try:
        if fcntl is not None:
            try:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConfigError(f'{workdir} is being trained by another process '
                                  f'({_describe(_read(lock_file))}); stop it first or pass '
                                  f'another --workdir.') from None
        previous = _read(lock_file)
        if previous:
            log(f'{workdir}: the previous trainer ({_describe(previous)}) ended without '
                f'releasing its lock (killed?); going on.')
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(json.dumps({
            'pid': os.getpid(), 'host': socket.gethostname(),
            'started': datetime.datetime.now().astimezone().isoformat(timespec='seconds')}))
        lock_file.flush()
        owned = True  # From here on this process owns the record.
        yield
    finally:
        if owned:  # Any exit of this process that runs Python (errors too) clears it.
            lock_file.seek(0)
            lock_file.truncate()
        lock_file.close()  # Closing releases the flock.


def remove_stale_temporaries(workdir: str, log=print) -> list[str]:
    """Deletes checkpoint folders a killed save left (`*_temp`); call only under `hold`."""
    removed = []
    for folder in ('checkpoints', 'best'):
        directory = os.path.join(workdir, folder)
        if not os.path.isdir(directory):
            continue
        for name in sorted(os.listdir(directory)):
            if name.endswith('_temp') and os.path.isdir(os.path.join(directory, name)):
                shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
                removed.append(os.path.join(directory, name))
    if removed:
        log(f'Removed {len(removed)} unfinished checkpoint folder(s) left by an interrupted '
            f'save: {", ".join(removed)}')
    return removed
