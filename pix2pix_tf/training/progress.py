"""Terminal progress for the training loop, and stopping cleanly on Ctrl-C / SIGTERM.

On a terminal, one line is redrawn in place (step/total, images/s, ETA, main losses). When
output goes to a file or a pipe (a cluster job, CI), nothing is redrawn: one plain line is
printed every `log_every` steps instead, so logs stay readable.

`Progress` also owns the loop's timing: a moving average of the step time (for images/s and
the ETA; the first step of a process traces and compiles, so it is not timed) and the window
of steps since the last summary (mean metrics and images/s for TensorBoard).
"""

import contextlib
import signal
import sys
import threading
import time

# Metrics shown on the progress line, with short labels.
SHOWN = (('generator/l1_loss', 'L1'), ('generator/gan_loss', 'G'),
         ('discriminator/real_loss', 'D real'), ('discriminator/fake_loss', 'D fake'))


def format_duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f'{hours}:{rest // 60:02d}:{rest % 60:02d}'


class Progress:
    """Training progress: `step_done` once per step; `take_window` at each summary."""

    def __init__(self, total_steps: int, log_every: int, *, batch_size: int = 1, stream=None,
                 redraw_seconds=0.5):
        self.stream = stream or sys.stdout
        self.interactive = hasattr(self.stream, 'isatty') and self.stream.isatty()
        self.total_steps = total_steps
        self.log_every = log_every
        self.batch_size = batch_size
        self.redraw_seconds = redraw_seconds
        self._last_draw = 0.0
        self._line_open = False
        self.step_seconds = None  # Moving average of a step's wall time.
        self._first_step = True
        self._window, self._window_steps = {}, 0
        self._window_seconds, self._timed_steps = 0.0, 0

    def step_done(self, step: int, metrics: dict, seconds: float) -> None:
        """Records a step (its float metrics and wall time) and updates the progress line."""
        if not self._first_step:
            self._window_seconds += seconds
            self._timed_steps += 1
            self.step_seconds = seconds if self.step_seconds is None else (
                0.9 * self.step_seconds + 0.1 * seconds)
        self._first_step = False
        self._window_steps += 1
        for name, value in metrics.items():
            self._window[name] = self._window.get(name, 0.0) + value
        rate = self.batch_size / self.step_seconds if self.step_seconds else 0.0
        left = (self.step_seconds * (self.total_steps - step) if self.step_seconds is not None
                else None)
        self.update(step, metrics, rate, left)

    def take_window(self) -> tuple[dict, float | None]:
        """(mean of each metric, images/s) over the steps since the last call, then resets.
        images/s is None when no step of the window was timed."""
        means = {name: total / self._window_steps for name, total in self._window.items()}
        rate = (self.batch_size * self._timed_steps / self._window_seconds
                if self._timed_steps else None)
        self._window, self._window_steps = {}, 0
        self._window_seconds, self._timed_steps = 0.0, 0
        return means, rate

    def log(self, message: str) -> None:
        """Prints a message on its own line (above the progress line on a terminal)."""
        if self._line_open:
            self.stream.write('\r\033[K')
            self._line_open = False
        self.stream.write(message + '\n')
        self.stream.flush()

    def update(self, step: int, metrics: dict, images_per_second: float,
               seconds_left: float | None) -> None:
        losses = '  '.join(f'{label} {metrics[key]:.3f}' for key, label in SHOWN if key in metrics)
        eta = 'ETA ' + (format_duration(seconds_left) if seconds_left is not None else '?')
        line = (f'step {step}/{self.total_steps}  {images_per_second:.1f} img/s  {eta}  '
                f'{losses}')
        if self.interactive:
            now = time.monotonic()
            if now - self._last_draw >= self.redraw_seconds or step == self.total_steps:
                self.stream.write('\r\033[K' + line)
                self.stream.flush()
                self._line_open = True
                self._last_draw = now
        elif step % self.log_every == 0 or step == self.total_steps:
            self.log(line)

    def close(self) -> None:
        if self._line_open:
            self.stream.write('\n')
            self.stream.flush()
            self._line_open = False


@contextlib.contextmanager
def stop_on_signals():
    """Yields a dict whose 'signal' key is set on the first SIGINT/SIGTERM.

    The training loop checks it after every step, saves a checkpoint and returns. A second
    Ctrl-C raises KeyboardInterrupt at once (for a step that hangs). Outside the main thread
    (where Python cannot install handlers) this does nothing.
    """
    state = {'signal': None}
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum, frame):
        if state['signal'] is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        state['signal'] = signal.Signals(signum).name

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield state
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
