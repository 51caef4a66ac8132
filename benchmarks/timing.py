"""What the latency benchmarks share: the generator to time, timing a call after a warm-up,
percentiles in ms."""

import time

import numpy as np


def timed(function, repeats: int) -> list[float]:
    """Seconds of `repeats` calls of function(), after two warm-up calls (tracing, allocator)."""
    function()
    function()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def percentile_ms(seconds: list[float], q: float) -> float:
    return 1000 * float(np.percentile(seconds, q))


def generator_and_sketch(workdir: str | None, sketch_shape):
    """(image size, generator, uint8 sketch of shape sketch_shape(image size)).

    The generator of a training workdir, or a freshly initialised 256x256 one (time and size do
    not depend on the weights); the sketch is white with 3% dark pixels, seeded.
    """
    from pix2pix_tf.model import networks
    from pix2pix_tf.training import checkpoints

    if workdir:
        config, generator, _ = checkpoints.restore_generator(workdir)
        size = config.image_size
    else:
        size, generator = 256, networks.build_generator(256)
    rng = np.random.default_rng(0)
    return size, generator, np.where(rng.random(sketch_shape(size)) < 0.03, 0,
                                     255).astype(np.uint8)
