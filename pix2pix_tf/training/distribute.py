"""tf.distribute strategies for `--strategy`, and who writes what.

- `one_device`: the default strategy (one GPU, or the CPU).
- `mirrored`: `MirroredStrategy` over the local GPUs (synchronous data parallelism); without a
  GPU, over the logical CPU devices.
- `multi_worker`: `MultiWorkerMirroredStrategy`; the cluster and this process's role come from
  the standard `TF_CONFIG` environment variable. Task 0 of type `chief` (or `worker` 0 when
  there is no chief) writes checkpoints and summaries.
- `tpu`: `TPUStrategy` on the TPU named by `--tpu` ('' = the one attached to this VM).
- `auto`: `mirrored` when several GPUs are visible, else `one_device`.

Every strategy runs the same training step: the global batch is split evenly across workers
(each worker's input pipeline decodes only its slice) and then across each worker's replicas;
losses are averaged over the global batch.
"""

import os
import shutil

import tensorflow as tf

from pix2pix_tf.config import ConfigError


def make_strategy(config) -> tf.distribute.Strategy:
    """The strategy `config.strategy` asks for (create it before any other TensorFlow work)."""
    name = config.strategy
    if name == 'auto':
        name = 'mirrored' if len(tf.config.list_physical_devices('GPU')) > 1 else 'one_device'
    if name == 'one_device':
        return tf.distribute.get_strategy()
    if name == 'mirrored':
        if tf.config.list_logical_devices('GPU'):
            return tf.distribute.MirroredStrategy()  # All local GPUs.
        # No GPU: mirror over the logical CPU devices (one unless configured; tests use two).
        return tf.distribute.MirroredStrategy(
            [device.name for device in tf.config.list_logical_devices('CPU')])
    if name == 'multi_worker':
        if 'TF_CONFIG' not in os.environ:
            raise ConfigError('--strategy=multi_worker needs the TF_CONFIG environment variable '
                              '(cluster and task); see docs/distributed.md.')
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == 'tpu':
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=config.tpu)
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, tf.errors.OpError) as error:
            raise ConfigError(f'--strategy=tpu: no TPU found at --tpu={config.tpu!r} '
                              f'({str(error).splitlines()[0]}).') from None
        return tf.distribute.TPUStrategy(resolver)
    raise ConfigError(f'--strategy={name} is not one of auto, one_device, mirrored, '
                      f'multi_worker, tpu.')


def worker_info(strategy) -> tuple[int, int]:
    """(number of workers, this worker's index) of the strategy's cluster."""
    resolver = getattr(strategy, 'cluster_resolver', None)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and resolver:
        spec = resolver.cluster_spec().as_dict()
        task_type, task_id = resolver.task_type, resolver.task_id
        workers = len(spec.get('chief', [])) + len(spec.get('worker', []))
        index = task_id if task_type == 'chief' or 'chief' not in spec else task_id + 1
        return workers, index
    return 1, 0


def is_chief(strategy) -> bool:
    """True for the process that writes checkpoints, summaries and config.json."""
    resolver = getattr(strategy, 'cluster_resolver', None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or not resolver:
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    has_chief = 'chief' in resolver.cluster_spec().as_dict()
    return task_type == 'chief' or (not has_chief and task_type == 'worker' and task_id == 0)


def replicas_per_worker(strategy) -> int:
    return strategy.num_replicas_in_sync // worker_info(strategy)[0]


def check_batch_size(config, strategy) -> None:
    """ConfigError unless the global batch splits evenly over the replicas."""
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ConfigError(f'--batch_size={config.batch_size} is the global batch and must be '
                          f'divisible by the {replicas} replicas; use a multiple of {replicas}.')


def worker_temp_dir(workdir: str, strategy) -> str:
    """Where a non-chief worker writes its (discarded) checkpoints: inside the workdir, so it
    is on the same file system, and deleted after each save."""
    return os.path.join(workdir, f'.worker-{worker_info(strategy)[1]}-tmp')


def remove_worker_temp_dir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def describe(strategy) -> str:
    workers, index = worker_info(strategy)
    kinds = ((tf.distribute.MultiWorkerMirroredStrategy, 'MultiWorkerMirroredStrategy'),
             (tf.distribute.MirroredStrategy, 'MirroredStrategy'),
             (tf.distribute.TPUStrategy, 'TPUStrategy'))
    kind = next((name for cls, name in kinds if isinstance(strategy, cls)), 'one device')
    text = f'{kind}, {strategy.num_replicas_in_sync} replica(s)'
    if workers > 1:
        text += f', worker {index} of {workers}' + (' (chief)' if is_chief(strategy) else '')
    return text
