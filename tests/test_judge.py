"""The judge's data format is safe to read, and its expectations say which case failed and why."""
from __future__ import annotations

import asyncio
import json
import struct
import time
from queue import Empty

import numpy as np
import pytest
import torch
from nbclient.util import run_sync

from course_grading import agent as wire
from course_grading import remote
from course_grading.judge import (Draw, Failed, Judge, Part, case, expect, expect_close, expect_equal,
                                  expect_no_ops, expect_tensor, expect_type, run_part)
from course_grading.remote import BadAnswer, KernelTimeout, StudentRaised
from course_utils.testing import implementations


def roundtrip(value, **kwargs):
    return wire.unpack(wire.pack(value, **kwargs), 10**7, torch, handle=wire.Handle, ref=wire.Ref)


def test_values_survive_the_round_trip_with_their_types():
    value = {"ints": [1, -2], "floats": (0.5, float("inf")), "flags": [True, None], "text": "ёлочка",
             "scalar": np.float32(2.5), "dtype": torch.float64, "nested": {(1, 2): [torch.zeros(0)]}}
    back = roundtrip(value)
    assert back["ints"] == [1, -2] and type(back["floats"]) is tuple and back["floats"][1] == float("inf")
    assert back["flags"] == [True, None] and back["text"] == "ёлочка" and back["dtype"] is torch.float64
    assert back["scalar"].dtype == np.float32 and back["nested"][(1, 2)][0].shape == (0,)


@pytest.mark.parametrize("tensor", [torch.tensor(3.0), torch.arange(6).reshape(2, 3), torch.randn(2, 3).T,
                                    torch.tensor([1.5, -2.0], dtype=torch.bfloat16), torch.tensor([True, False]),
                                    torch.randn(2, dtype=torch.complex64)])
def test_tensors_keep_shape_dtype_and_values(tensor):
    back = roundtrip(tensor)
    assert back.shape == tensor.shape and back.dtype == tensor.dtype and torch.equal(back, tensor)
    assert back.kernel_type == "torch.Tensor"


def test_a_parameter_arrives_as_data_that_remembers_its_type():
    back = roundtrip(torch.nn.Parameter(torch.ones(2)))
    assert type(back) is torch.Tensor and back.kernel_type == "torch.nn.parameter.Parameter"
    assert back.kernel_requires_grad


def test_objects_that_are_not_data_become_handles():
    kept = []
    back = roundtrip({"model": torch.nn.Linear(2, 2)}, keep=lambda obj: kept.append(obj) or len(kept))
    assert isinstance(back["model"], wire.Handle) and back["model"].type == "torch.nn.modules.linear.Linear"
    assert isinstance(kept[0], torch.nn.Linear)
    with pytest.raises(wire.WireError, match="cannot send"):
        wire.pack(object())


def _payload(header: dict, body: bytes = b"") -> bytes:
    data = json.dumps(header).encode()
    return wire.MAGIC + struct.pack("<I", len(data)) + data + body


@pytest.mark.parametrize("payload", [
    b"", b"not a judge message at all", wire.MAGIC + struct.pack("<I", 10**6) + b"{}",
    _payload({"value": 1}), _payload({"value": {"$t": "eval", "v": "__import__('os')"}, "arrays": []}),
    _payload({"value": {"$t": "tensor", "i": 0, "dtype": "float32"}, "arrays": []}),
    _payload({"value": 0, "arrays": [{"dtype": "float64", "shape": [10**9], "offset": 0, "nbytes": 8 * 10**9}]}),
    _payload({"value": 0, "arrays": [{"dtype": "object", "shape": [1], "offset": 0, "nbytes": 8}]}, b"\0" * 8),
    _payload({"value": 0, "arrays": [{"dtype": "float32", "shape": [2], "offset": 4, "nbytes": 8}]}, b"\0" * 8),
    _payload({"value": {"$t": "dict", "v": [[[1], 2]]}, "arrays": []}),
    _payload({"value": {"$t": "ref", "name": "secret"}, "arrays": []}),
    wire.MAGIC + struct.pack("<I", 20002) + b"[" * 10001 + b"]" * 10001,
    _payload({"value": {"$t": "tuple", "v": [[]] * 2}, "arrays": []})[:-5],
])
def test_hostile_payloads_fail_to_decode_and_nothing_else(payload):
    with pytest.raises(wire.WireError):
        wire.unpack(payload, 10**7, torch, handle=wire.Handle)  # no `ref`: answers may not name globals


def test_the_size_limits_hold_before_anything_is_parsed():
    with pytest.raises(wire.WireError, match="limit"):
        wire.unpack(wire.pack(torch.zeros(1000)), 1000, torch)
    with pytest.raises(wire.WireError, match="structure"):
        wire.unpack(wire.pack(list(range(4_000_000))), 2**30, torch)


def test_draws_are_private_and_repeatable():
    torch.manual_seed(0)
    first = Draw(7)
    values = (first.randn(3), first.int(0, 100), first.dyadic(4))
    torch.manual_seed(123)
    again = Draw(7)
    assert torch.equal(values[0], again.randn(3)) and values[1] == again.int(0, 100)
    assert torch.equal(values[2], again.dyadic(4)) and (values[2] * 2 == (values[2] * 2).round()).all()


def _verdict(check):
    return run_part(Part("test_x", check, 60), student=None, seed=1)


def test_a_failure_names_the_case_and_the_mistake():
    def check(student, draw):
        with case("random inputs", N=4, dtype=torch.float64):
            expect_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]), "the output",
                         mistakes={"you forgot the bias": torch.tensor([1.0, 2.0])})

    verdict = _verdict(check)
    assert not verdict.passed and verdict.mistake == "you forgot the bias"
    assert verdict.message.startswith("random inputs (N=4, dtype=float64): "
                                      "the output: got [1.0, 2.0], expected [1.0, 2.5]")
    assert "This is what you get if you forgot the bias." in verdict.message


def test_large_values_report_the_worst_element_and_not_the_whole_reference():
    want = torch.zeros(50, 50)
    got = want.clone()
    got[3, 7] = 0.5
    with pytest.raises(Failed, match=r"differs by up to 0.5; at index \(3, 7\) got 0.5, expected 0"):
        expect_close(got, want, "the map")


def test_type_and_tensor_expectations_are_exact():
    expect_type([1], list, "x")
    expect_tensor(torch.zeros(2, dtype=torch.int64), "x", dtype=torch.int64, shape=(2,))
    for bad in (lambda: expect_type((1,), list, "x"), lambda: expect_tensor(np.zeros(2), "x"),
                lambda: expect_tensor(roundtrip(torch.nn.Parameter(torch.ones(1))), "x"),
                lambda: expect_tensor(torch.zeros(2), "x", dtype=torch.float64),
                lambda: expect_equal([1, 2], [1, 2.5], "x"), lambda: expect(False, "no")):
        with pytest.raises(Failed):
            bad()
    expect_tensor(roundtrip(torch.nn.Parameter(torch.ones(1))), "x", parameter=True)


def test_forbidden_operators_are_named():
    with pytest.raises(Failed, match="aten.convolution"):
        expect_no_ops({"aten.add", "aten.convolution"}, implementations("convolution"), "conv2d")
    expect_no_ops({"aten.im2col", "aten.mm"}, implementations("convolution"), "conv2d")


@pytest.mark.parametrize("error, passed, words", [
    (None, True, "checks passed"),
    (StudentRaised("builtins.ValueError", "bad shape", "perceptron_predict"), False,
     "perceptron_predict raised ValueError: bad shape"),
    (KernelTimeout("no answer within 60 s"), False, "did not answer"),
    (BadAnswer("not a judge message"), False, "did not answer"),
    (ZeroDivisionError("judge bug"), False, "an instructor will look at it"),
])
def test_every_outcome_of_a_part_becomes_a_verdict(error, passed, words):
    def check(student, draw):
        expect(True, "")
        if error is not None:
            raise error

    verdict = _verdict(check)
    assert verdict.passed is passed and words in verdict.message
    assert (verdict.problem is not None) == isinstance(error, (KernelTimeout, BadAnswer, ZeroDivisionError))


def test_a_student_exception_inside_a_case_is_reported_with_the_case():
    def check(student, draw):
        with case("empty input", N=0):
            raise StudentRaised("builtins.IndexError", "list index out of range", "iou")

    assert _verdict(check).message == "empty input (N=0): iou raised IndexError: list index out of range"


def test_parts_register_once_per_grade_id():
    judge = Judge()
    judge.part("test_a")(lambda student, draw: None)
    with pytest.raises(ValueError, match="two judges"):
        judge.part("test_a")(lambda student, draw: None)
    judge.advise_against("answer_a", "conv2d")
    assert judge.advisory == {"answer_a": {"conv2d"}}


class SilentKernel:
    """A kernel that is alive but never says anything (as after a notebook breaks `builtins.isinstance`)."""

    def execute(self, code, **kwargs):
        return "request-1"

    async def get_iopub_msg(self, timeout):
        await asyncio.sleep(min(timeout, 0.05))
        raise Empty

    async def is_alive(self):
        return True


def test_a_kernel_that_stops_talking_is_given_up_at_once_not_after_the_calls_timeout(monkeypatch):
    monkeypatch.setattr(remote, "ACKNOWLEDGE_S", 0.2)
    kernel = SilentKernel()
    link = remote.KernelLink(kernel, kernel, run_sync)
    start = time.monotonic()
    with pytest.raises(remote.KernelDied, match="did not take the request"):
        link.request([{"op": "getattr", "target": wire.Ref("x"), "name": "y"}], timeout=60)
    assert time.monotonic() - start < 5 and link.dead
