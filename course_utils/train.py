"""A readable fit/evaluate loop for any device, with a progress bar, a history and live curves."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from .device import autocast_dtype, get_device
from .plot import LivePlot

Batch = tuple[torch.Tensor, torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Penalty = Callable[[nn.Module], torch.Tensor]
# Mixed precision: "auto" (the device's default, see `autocast_dtype`), None (float32), or a dtype to force.
Precision = str | torch.dtype | None


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of targets whose class is the arg-max over dim 1 (rows; or pixels, for (N, C, H, W) logits)."""
    return (logits.argmax(dim=1) == targets).float().mean().item()


def _device(model: nn.Module, device: torch.device | str | None) -> torch.device:
    """The device to run on, the same rule in fit, train_epoch and evaluate: `device` if given, else the course's
    choice (`get_device()`: $COURSE_DEVICE, else CUDA, MPS, CPU). The model is moved there."""
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    return device


def _dtype(device: torch.device, precision: Precision) -> torch.dtype | None:
    return autocast_dtype(device) if precision == "auto" else precision


def _autocast(device: torch.device, dtype: torch.dtype | None) -> AbstractContextManager:
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def gradient_scaler(device: torch.device, precision: Precision = "auto") -> torch.amp.GradScaler:
    """The loss scaler float16 training needs (enabled only for float16: bfloat16 has float32's range)."""
    return torch.amp.GradScaler(device.type, enabled=_dtype(device, precision) == torch.float16)


def _to(batch: Batch, device: torch.device) -> Batch:
    return tuple(t.to(device, non_blocking=True) for t in batch)


def _check_not_empty(count: int, what: str) -> None:
    if count == 0:
        raise ValueError(f"The {what} loader yielded no batches, so there is nothing to average. Is its dataset "
                         f"empty, or smaller than one batch with drop_last=True?")


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable[Batch], loss_fn: LossFn = F.cross_entropy,
             device: torch.device | str | None = None, precision: Precision = "auto") -> dict[str, float]:
    """Mean loss and accuracy of `model` over `loader`, in eval mode (per pixel for segmentation targets)."""
    device = _device(model, device)
    dtype = _dtype(device, precision)
    model.eval()
    total_loss, correct, count, targets = 0.0, 0, 0, 0
    for x, y in loader:
        x, y = _to((x, y), device)
        with _autocast(device, dtype):
            logits = model(x)
        total_loss += loss_fn(logits.float(), y).item() * len(y)
        correct += (logits.argmax(dim=1) == y).sum().item()
        count += len(y)
        targets += y.numel()
    _check_not_empty(count, "evaluation")
    return {"loss": total_loss / count, "acc": correct / targets}


def train_epoch(model: nn.Module, loader: Iterable[Batch], optimizer: torch.optim.Optimizer,
                loss_fn: LossFn = F.cross_entropy, scheduler=None, device: torch.device | str | None = None,
                progress: bool = True, description: str = "train", penalty: Penalty | None = None,
                precision: Precision = "auto", scaler: torch.amp.GradScaler | None = None) -> dict[str, float]:
    """One pass over `loader`; `scheduler` (if any) is stepped after every batch, as OneCycleLR expects.

    `penalty(model)` (e.g. an L1 term) is added to every batch's loss; the reported loss includes it.
    `scaler` carries float16's loss scale from one epoch to the next (`fit` passes one for the whole run).
    """
    device = _device(model, device)
    dtype = _dtype(device, precision)
    scaler = scaler if scaler is not None else gradient_scaler(device, precision)
    model.train()
    total_loss, correct, count, targets = 0.0, 0, 0, 0
    bar = tqdm(loader, desc=description, leave=False, disable=not progress)
    for x, y in bar:
        x, y = _to((x, y), device)
        with _autocast(device, dtype):
            logits = model(x)
            loss = loss_fn(logits.float(), y)
            if penalty is not None:
                loss = loss + penalty(model)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.item() * len(y)
        correct += (logits.argmax(dim=1) == y).sum().item()
        count += len(y)
        targets += y.numel()
        bar.set_postfix(loss=f"{total_loss / count:.4f}", acc=f"{correct / targets:.3f}", refresh=False)
    _check_not_empty(count, "training")
    return {"loss": total_loss / count, "acc": correct / targets}


def fit(model: nn.Module, train_loader: Iterable[Batch], optimizer: torch.optim.Optimizer, epochs: int,
        val_loader: Iterable[Batch] | None = None, loss_fn: LossFn = F.cross_entropy, scheduler=None,
        device: torch.device | str | None = None, plot: bool = True, progress: bool = True,
        penalty: Penalty | None = None, precision: Precision = "auto") -> dict[str, list[float]]:
    """Train for `epochs`, evaluating on `val_loader` after each; return the history of every metric.

    The history maps "train_loss", "train_acc", "val_loss", "val_acc" to one value per epoch. A `penalty`
    (a function of the model) is part of the training loss only: "val_loss" is `loss_fn` alone.
    `device` defaults to `get_device()`; `precision` to mixed precision on CUDA only (`autocast_dtype`).
    """
    device = _device(model, device)
    scaler = gradient_scaler(device, precision)  # one for the whole run: the loss scale it learns carries over
    history: dict[str, list[float]] = defaultdict(list)
    live = LivePlot() if plot else None
    for epoch in tqdm(range(1, epochs + 1), desc="epochs", disable=not progress):
        stats = {"train": train_epoch(model, train_loader, optimizer, loss_fn, scheduler, device, progress,
                                      description=f"epoch {epoch}", penalty=penalty, precision=precision,
                                      scaler=scaler)}
        if val_loader is not None:
            stats["val"] = evaluate(model, val_loader, loss_fn, device, precision)
        for split, metrics in stats.items():
            for name, value in metrics.items():
                history[f"{split}_{name}"].append(value)
        if live is not None:
            live.update(history, final=epoch == epochs)
    return dict(history)
