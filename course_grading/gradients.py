"""Gradients through the student's code: the kernel's autograd computes them, the judge reads the numbers back.

    leaves = kernel_leaves(student, x, w)                         # copies in the kernel that require grad
    out = student.conv_t.invoke((*leaves,), keep=True).value      # the student's output stays in the kernel
    grads = kernel_gradients(student, out, leaves, grad_out)      # d<out, grad_out>/d leaf; None: no dependence

    loss = value_and_gradients(student, loss_handle, leaves, "the loss")
    check(loss.value); check(loss.gradients())                    # one round trip; a failed backward raises late
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .remote import Answers, Remote


def kernel_leaves(student, *values: torch.Tensor) -> list[Remote]:
    """A kernel copy of each of `values` that requires grad (the leaves the student's code receives)."""
    batch = student.batch()
    calls = [batch.call(student.module("torch.Tensor.requires_grad_"), value, keep=True) for value in values]
    answers = batch.send()
    return [answers.value(call) for call in calls]


def kernel_gradients(student, output: Remote, leaves: list[Remote], grad_out: torch.Tensor | None = None) -> list:
    """d<output, grad_out>/d leaves by the kernel's autograd through the student's code (None where unused)."""
    arguments = (output, leaves) if grad_out is None else (output, leaves, grad_out)
    return list(student.module("torch.autograd.grad").invoke(arguments, {"allow_unused": True}).value)


@dataclass
class Differentiated:
    """A kernel output read back as data, with its gradients fetched in the same round trip."""

    value: Any
    answers: Answers
    gradient_call: int

    def gradients(self) -> list:
        """The gradients (None where unused); raises here, not earlier, if the kernel's backward failed."""
        return list(self.answers.value(self.gradient_call))


def value_and_gradients(student, output: Remote, leaves: list[Remote], what: str) -> Differentiated:
    """`output` detached and its gradients with respect to `leaves`, in one round trip (for a scalar output)."""
    module = student.module
    batch = student.batch()
    value = batch.call(module("torch.Tensor.detach"), output, what=what)
    gradient = batch.call(module("torch.autograd.grad"), output, leaves, allow_unused=True,
                          what=f"the gradient of {what}")
    answers = batch.send()
    return Differentiated(answers.value(value), answers, gradient)
