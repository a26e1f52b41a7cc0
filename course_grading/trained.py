"""Judging a network that the student's code trains: timed from outside, scored on the judge's own data.

    model = train_in_kernel(student, "train_cnn", seed, aim_s=60, limit_s=180, timeout_s=1200)
    images = kernel_test_images(student, "load_mnist", expected_images, "the MNIST test images")
    accuracy = judged_accuracy(student, model, images, labels)

The training runs in the kernel under the judge's clock (`student.timer`: wall time and the kernel's CPU time;
the smaller one counts, so a busy grader does not fail a fast network). The test images are the kernel's own
copy of the course's dataset, checked value for value against the judge's copy (sending 10,000 images in is
slow); the kernel only runs the model on them, and the judge computes the accuracy from the returned logits.
"""
from __future__ import annotations

from typing import Any

import torch

from .judge import expect, expect_equal, expect_tensor
from .remote import Remote


def short_type(value: Any) -> str:
    """The short type name of a kernel value (or a local one)."""
    return getattr(value, "type_name", type(value).__name__).rsplit(".", 1)[-1]


def is_module(student: Any, value: Any) -> bool:
    return student.module("builtins.isinstance")(value, student.module("torch.nn.Module")) is True


def train_in_kernel(student: Any, function: str, seed: int, *, aim_s: float, limit_s: float,
                    timeout_s: float) -> Remote:
    """Call the student's `function(seed)` under the judge's clock; expect an nn.Module within `limit_s`."""
    with student.timer() as clock:
        model = getattr(student, function).invoke((seed,), keep=True, timeout=timeout_s).value
    seconds = min(clock.wall, clock.cpu) if clock.cpu is not None else clock.wall
    cpu = f", {clock.cpu:.0f} s of CPU time" if clock.cpu is not None else ""
    expect(seconds <= limit_s, f"training took {clock.wall:.0f} s here{cpu}; aim for about {aim_s} s "
                               f"on a laptop (the grader fails only more than {limit_s} s)")
    expect(is_module(student, model),
           f"{function}(seed) should return the trained nn.Module, got a {short_type(model)}")
    return model


def kernel_test_images(student: Any, loader: str, expected: torch.Tensor, what: str) -> Remote:
    """A handle to the standardised test images as the kernel's `course_utils.<loader>(train=False)` gives them,
    after checking them against the judge's own copy `expected`."""
    dataset = student.module(f"course_utils.{loader}").invoke((), {"train": False}, keep=True).value
    loaded = student.module("course_utils.image_tensors").invoke((dataset,), keep=True).value
    images = student.module("operator.getitem").invoke((loaded, 0), keep=True).value
    expect_equal(images.attr("data"), expected, f"{what} as your notebook loads them (they must be the grader's own)")
    return images


def judged_accuracy(student: Any, model: Remote, images: Remote, labels: torch.Tensor, chunk: int = 2500,
                    classes: int = 10) -> float:
    """The fraction of `labels` that the kernel's `model` (in eval mode, `classes` logits) predicts, computed here."""
    model.attr("eval")()
    parameters = student.module("builtins.list")(model.attr("parameters")())
    device = getattr(parameters[0], "kernel_device", "cpu") if parameters else "cpu"
    narrow, move = student.module("torch.narrow"), student.module("torch.Tensor").attr("to")
    correct = 0
    for start in range(0, len(labels), chunk):
        size = min(chunk, len(labels) - start)
        batch = narrow.invoke((images, 0, start, size), keep=True).value
        if device != "cpu":
            batch = move.invoke((batch, device), keep=True).value
        logits = model.invoke((batch,), no_grad=True).value
        expect_tensor(logits, "the model's output", shape=(size, classes))
        correct += int((logits.float().argmax(dim=1) == labels[start:start + size]).sum())
    return correct / len(labels)
