"""seed_everything makes Python, NumPy and torch repeat themselves."""
import random

import numpy as np
import torch

from course_utils import seed_everything


def draw() -> tuple:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_same_seed_same_numbers_everywhere():
    seed_everything(7)
    first = draw()
    seed_everything(7)
    assert draw() == first


def test_different_seeds_differ():
    seed_everything(1)
    first = draw()
    seed_everything(2)
    assert all(a != b for a, b in zip(first, draw()))


def test_returns_a_generator_seeded_the_same_and_sets_cudnn_flags():
    generator = seed_everything(3)
    expected = torch.rand(3, generator=torch.Generator().manual_seed(3))
    assert torch.equal(torch.rand(3, generator=generator), expected)
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
