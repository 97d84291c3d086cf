"""Shared test set-up: property tests are derandomised under CI so that a run repeats."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
