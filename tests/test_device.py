"""Device choice: every branch, with the accelerators mocked."""
from __future__ import annotations

import pytest
import torch

from course_utils import device as device_module
from course_utils.device import autocast_dtype, choose_device, get_device


@pytest.fixture
def accelerators(no_course_env, monkeypatch):
    """Set which accelerators the mocked machine has: accelerators(cuda=..., mps=...)."""
    def set_available(cuda: bool = False, mps: bool = False, bf16: bool = True, gpus: int = 1) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus if cuda else 0)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "Mock GPU")
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *_, **__: bf16)
        monkeypatch.setattr(device_module, "_mps_available", lambda: mps)
    return set_available


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (True, False, "cuda"),
                                                 (False, True, "mps"), (False, False, "cpu")])
def test_auto_prefers_cuda_then_mps_then_cpu(accelerators, cuda, mps, expected):
    accelerators(cuda=cuda, mps=mps)
    assert choose_device().device.type == expected


def test_mixed_precision_only_on_cuda_in_bfloat16_where_supported(accelerators):
    accelerators(cuda=True)
    assert autocast_dtype(torch.device("cuda")) == torch.bfloat16
    accelerators(cuda=True, bf16=False)
    assert autocast_dtype(torch.device("cuda")) == torch.float16
    assert "float16" in choose_device().summary()
    assert autocast_dtype(torch.device("cpu")) is None and autocast_dtype(torch.device("mps")) is None


def test_a_gpu_number_that_does_not_exist_is_a_clear_error(accelerators):
    accelerators(cuda=True, gpus=2)
    assert choose_device("cuda:1").device == torch.device("cuda:1")
    with pytest.raises(RuntimeError, match="has 2 CUDA device"):
        choose_device("cuda:2")


@pytest.mark.parametrize("requested", ["cuda:x", "gpu", "xla"])
def test_a_malformed_device_is_a_clear_error(accelerators, requested):
    accelerators(cuda=True)
    with pytest.raises(ValueError, match="must be one of auto, cpu, cuda, mps or cuda:N"):
        choose_device(requested)


def test_environment_variable_overrides_auto(accelerators, monkeypatch):
    accelerators(cuda=True, mps=True)
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    choice = choose_device()
    assert choice.device == torch.device("cpu")
    assert "COURSE_DEVICE=cpu" in choice.reason


def test_argument_overrides_environment(accelerators, monkeypatch):
    accelerators(cuda=True)
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert get_device("cuda:0") == torch.device("cuda:0")


def test_auto_value_means_no_override(accelerators, monkeypatch):
    accelerators(mps=True)
    monkeypatch.setenv("COURSE_DEVICE", "auto")
    assert choose_device().device.type == "mps"


@pytest.mark.parametrize("requested", ["cuda", "mps"])
def test_requesting_a_missing_accelerator_is_a_clear_error(accelerators, requested):
    accelerators()
    with pytest.raises(RuntimeError, match="not available"):
        choose_device(requested)


@pytest.mark.parametrize("cuda, mps, words", [(True, False, ["cuda", "Mock GPU", "mixed precision"]),
                                              (False, True, ["mps", "Apple MPS"]),
                                              (False, False, ["cpu", "threads", "no CUDA or MPS"])])
def test_summary_is_one_line_saying_what_and_why(accelerators, cuda, mps, words):
    accelerators(cuda=cuda, mps=mps)
    summary = choose_device().summary()
    assert "\n" not in summary
    for word in words:
        assert word in summary


def test_cpu_threads_are_capped_only_on_the_cpu(accelerators, monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    accelerators(cuda=True)
    choose_device(cpu_threads=1)
    accelerators()
    choose_device()
    choose_device(cpu_threads=1)
    assert calls == [1]
