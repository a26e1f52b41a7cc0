"""One call to make a notebook's randomness repeatable."""
from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int = 0, deterministic: bool = True) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); return a torch.Generator seeded the same way.

    `deterministic` turns off cuDNN autotuning and picks deterministic cuDNN kernels (cheap);
    it does not force `torch.use_deterministic_algorithms`, which would slow some ops a lot.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    return torch.Generator().manual_seed(seed)
