"""The synthetic-run builder lives in the package (``gradsight.core.synthetic``): detector
modules build their own scenarios with it."""

from gradsight.core.synthetic import *  # noqa: F401,F403
from gradsight.core.synthetic import (  # noqa: F401
    INF, NAN, SyntheticRun, empty_run, healthy_loss, kinds, only, when, worded)
