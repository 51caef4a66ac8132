"""When a training run must stop: losses that are not finite or explode, and weights that are
not finite (checked before each checkpoint, so the last good checkpoint stays the latest).

With `--learning_rate=1e6` a run stopped here at step 4; the checkpoint of the step after the
first bad update can still look finite, which is why keep_checkpoints >= 2 is advised.
"""

import numpy as np
import tensorflow as tf

# Losses that stop training when they are not finite or explode.
WATCHED_LOSSES = ('generator/total_loss', 'discriminator/real_loss', 'discriminator/fake_loss')
# A healthy run's losses stay far below this: the L1 term is at most l1_weight x 2 (200 at the
# default weight) and the BCE terms rarely pass 30. A finite loss above it (a run diverging
# with --learning_rate=1e6 reaches 1e15 before any NaN) stops training like a NaN does. With a
# large --l1_weight the limit grows: 10 x (2 x l1_weight + 30) when that is more.
EXPLODED_LOSS = 1e4


def exploded_loss_limit(l1_weight: float) -> float:
    """The loss above which a run counts as diverging (see EXPLODED_LOSS)."""
    return max(EXPLODED_LOSS, 10 * (2 * l1_weight + 30))


# Under float16 loss scaling a non-finite step is skipped by the optimizer (weights untouched);
# only this many in a row stop training.
MAX_SKIPPED_STEPS = 10


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the message names the step and what to do."""


def check_losses(metrics: dict, step: int, skipped_in_a_row: int, loss_scaled: bool,
                 last_checkpoint: str | None, limit: float = EXPLODED_LOSS) -> int:
    """Returns the new count of non-finite steps in a row; raises NonFiniteLossError to stop.

    A loss over `limit` (`exploded_loss_limit`) stops at once; a non-finite one gets
    MAX_SKIPPED_STEPS chances under float16 loss scaling (the scaler skips such updates).
    """
    exploded = [name for name in WATCHED_LOSSES
                if np.isfinite(metrics[name]) and abs(metrics[name]) > limit]
    bad = [name for name in WATCHED_LOSSES if not np.isfinite(metrics[name])] + exploded
    if not bad:
        return 0
    skipped_in_a_row += 1
    if loss_scaled and not exploded and skipped_in_a_row < MAX_SKIPPED_STEPS:
        return skipped_in_a_row  # The loss scaler skipped this update; give it another chance.
    kept = (f'the last good checkpoint {last_checkpoint} is untouched' if last_checkpoint
            else 'no checkpoint was written')
    raise NonFiniteLossError(
        f'training stopped at step {step}: {", ".join(bad)} = '
        f'{", ".join(str(metrics[name]) for name in bad)}'
        f'{f" (over {limit:g}: diverging)" if exploded else ""}; {kept}. Lower '
        f'--learning_rate or --l1_weight, or use --precision=float32.')


def check_variables(models, step: int, last_checkpoint: str | None) -> None:
    """Raises NonFiniteLossError when a variable of `models` is not finite.

    Every variable counts, batch-norm moving statistics included: a diverging run can keep
    finite weights while its moving variances overflow, and eval mode would then be garbage.
    """
    for model in models:
        bad = [variable.path for variable in model.variables
               if not bool(tf.reduce_all(tf.math.is_finite(tf.cast(variable, tf.float32))))]
        if bad:
            raise NonFiniteLossError(
                f'training stopped at step {step}: {model.name} variables are not finite '
                f'({", ".join(bad[:3])}{", ..." if len(bad) > 3 else ""}); the last good '
                f'checkpoint {last_checkpoint} is untouched. Lower --learning_rate or use '
                f'--precision=float32.')
