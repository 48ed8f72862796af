"""Measure worker processes too: ``measure_torch.py`` puts this folder first on PYTHONPATH for
the script it runs, so every Python process the script starts (``mp.spawn``, ``torchrun``)
installs the plain-hook recorder and writes its numbers at exit."""

import os

if os.environ.get("GS_WILD_MEASURE_DIR"):
    import measure_torch

    measure_torch.child_start()
