"""workdir/config.json: the Config a run was built from, and how its latest start ran.

Export and evaluation rebuild the models from the Config, so they need no model flags. The
"run" entry (resolved precision, strategy, package versions) is not a Config field:
`Config.from_json` ignores it; the model card copies it.
"""

import json
import os
import platform

from pix2pix_tf import config as config_lib

RUN_KEY = 'run'  # config.json entry that is not a Config field: how the latest start ran.


def write_config(config: config_lib.Config, workdir: str, run_info: dict | None = None) -> None:
    """Writes workdir/config.json atomically, after checking an existing one is compatible.

    `run_info` (resolved precision, strategy, package versions) is stored under "run";
    `Config.from_json` ignores it, and `read_run_info` reads it back.
    """
    config_lib.check_workdir(config, workdir)
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, config_lib.CONFIG_FILE)
    values = json.loads(config.to_json())
    if run_info:
        values[RUN_KEY] = run_info
    temporary = path + '.tmp'
    with open(temporary, 'w') as file:
        json.dump(values, file, indent=2, sort_keys=True)
        file.write('\n')
    os.replace(temporary, path)


def read_run_info(workdir: str) -> dict:
    """The "run" entry of workdir/config.json ({} for workdirs written before it existed)."""
    try:
        with open(os.path.join(workdir, config_lib.CONFIG_FILE)) as file:
            return json.load(file).get(RUN_KEY) or {}
    except (OSError, ValueError):
        return {}


def package_versions() -> dict:
    """Versions of the packages an export or a run depends on."""
    import keras
    import numpy
    import tensorflow as tf

    from pix2pix_tf import __version__
    return {'pix2pix_tf': __version__, 'tensorflow': tf.__version__, 'keras': keras.__version__,
            'numpy': numpy.__version__, 'python': platform.python_version()}
