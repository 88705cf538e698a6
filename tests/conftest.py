import os

import matplotlib
from hypothesis import settings

matplotlib.use("Agg")

# CI draws the same hypothesis examples on every run (a red CI is then a real regression, reproducible from the
# log); locally each run explores new examples.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
