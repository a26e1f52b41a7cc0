"""Pick the compute device once, explain the choice, and say which speed-ups apply."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch

DEVICE_ENV = "COURSE_DEVICE"
_KNOWN_TYPES = ("cpu", "cuda", "mps")


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The mixed-precision dtype `fit` uses by default on `device`: bfloat16 on CUDA GPUs that support it,
    float16 (with a gradient scaler) on older ones, none (float32) on the CPU and MPS, where it does not pay."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@dataclass(frozen=True)
class DeviceChoice:
    """The chosen device and why."""

    device: torch.device
    reason: str

    def summary(self) -> str:
        name = str(self.device)
        if self.device.type == "cuda":
            name += f" ({torch.cuda.get_device_name(self.device)})"
        dtype = autocast_dtype(self.device)
        details = (f"mixed precision ({str(dtype).removeprefix('torch.')}) in training" if dtype is not None
                   else f"float32, {torch.get_num_threads()} threads" if self.device.type == "cpu" else "float32")
        return f"Using {name}: {self.reason}; {details}."


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _check_available(device: torch.device) -> None:
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"{DEVICE_ENV}={device} was requested, but CUDA is not available on this machine. "
                           f"Unset {DEVICE_ENV} (or set it to 'cpu') to run on the CPU.")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise RuntimeError(f"{DEVICE_ENV}={device} was requested, but this machine has {count} CUDA device(s), "
                           f"numbered 0 to {count - 1}. Choose one of them, or 'cuda' for the first.")
    if device.type == "mps" and not _mps_available():
        raise RuntimeError(f"{DEVICE_ENV}=mps was requested, but Apple's MPS backend is not available here. "
                           f"Unset {DEVICE_ENV} (or set it to 'cpu').")


def _choose(requested: str | None) -> DeviceChoice:
    requested = requested or os.environ.get(DEVICE_ENV, "").strip() or "auto"
    if requested != "auto":
        try:
            device = torch.device(requested)
        except RuntimeError:
            device = None
        if device is None or device.type not in _KNOWN_TYPES:
            raise ValueError(f"{DEVICE_ENV} must be one of auto, {', '.join(_KNOWN_TYPES)} or cuda:N for GPU number N "
                             f"(got {requested!r}).")
        _check_available(device)
        return DeviceChoice(device, f"requested via {DEVICE_ENV}={requested}")
    if torch.cuda.is_available():
        return DeviceChoice(torch.device("cuda"), "CUDA GPU found")
    if _mps_available():
        return DeviceChoice(torch.device("mps"), "Apple MPS found, no CUDA")
    return DeviceChoice(torch.device("cpu"), "no CUDA or MPS accelerator found")


def choose_device(requested: str | None = None, cpu_threads: int | None = None) -> DeviceChoice:
    """CUDA, then Apple MPS, then CPU; `requested` or $COURSE_DEVICE overrides ('auto' = no override).

    `cpu_threads` caps PyTorch's CPU threads when the CPU is chosen. Notebooks whose tensors are tiny
    pass 1: splitting a small operation across cores costs more than it saves, much more when other
    programs keep the cores busy.
    """
    choice = _choose(requested)
    if cpu_threads is not None and choice.device.type == "cpu":
        torch.set_num_threads(cpu_threads)
    return choice


def get_device(requested: str | None = None) -> torch.device:
    """Shortcut for `choose_device(requested).device`."""
    return choose_device(requested).device
