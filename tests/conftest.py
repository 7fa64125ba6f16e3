"""Fixtures shared by all tests."""

from __future__ import annotations

import os

import torch

# Two cores: keep test runs from oversubscribing them.
torch.set_num_threads(int(os.environ.get("BRAINMETS_TEST_THREADS", "2")))
