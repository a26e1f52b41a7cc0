"""The judge's side of the conversation with a student's kernel: requests out, data back.

    student.perceptron_predict(X, w, b)        # call a notebook global on judge-made inputs -> data
    net = student.XorNet(hidden=4)             # objects that are not data stay in the kernel -> Remote
    logits = net(x)                            # ... and can be called, inspected, passed back in
    spy = student.spy(returns=(w, b, [1, 0]))  # a stand-in function that records how it is called
    with student.timer() as clock: ...         # wall and kernel CPU time, measured out here

Everything that comes back went through `agent.unpack` (no pickle, sizes capped). Exceptions raised
by the student's code arrive as `StudentRaised`; a kernel that stops answering raises `KernelTimeout`
or `KernelDied`. None of these can run code in the grader's process.
"""
from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

import torch

from . import agent as wire

AGENT_SOURCE = Path(wire.__file__).read_text()
MAX_ANSWER_BYTES = 256 * 2**20
INSTALL = """\
import sys, types
m = types.ModuleType("_course_judge_agent")
exec(compile({source!r}, "<course judge agent>", "exec"), m.__dict__)
m.the_agent = m.Agent()
sys.modules["_course_judge_agent"] = m
"""
ANSWER = '__import__("sys").modules["_course_judge_agent"].the_agent.answer({payload!r})'
# A live kernel says "busy" as soon as it takes a request. One that says nothing for this long has stopped talking
# (a notebook that breaks `builtins` breaks the kernel's own messaging): give up on it instead of waiting out the
# call's whole timeout.
ACKNOWLEDGE_S = 30.0



class KernelProblem(Exception):
    """The kernel did not give a usable answer."""


class KernelTimeout(KernelProblem):
    pass


class KernelDied(KernelProblem):
    pass


class BadAnswer(KernelProblem):
    """The kernel answered with something that is not a judge message."""


class StudentRaised(Exception):
    """The student's code raised an exception while the judge called it."""

    def __init__(self, type_name: str, message: str, what: str = ""):
        self.type_name, self.message, self.what = type_name, message, what
        short = type_name.rsplit(".", 1)[-1]
        super().__init__(f"{what + ' ' if what else ''}raised {short}: {message}".strip())


class KernelLink:
    """Runs requests in the kernel that nbclient started, over its own (async) client."""

    def __init__(self, kc: Any, km: Any, run_sync: Any):
        self.kc, self.km, self.run_sync = kc, km, run_sync
        self.dead = False
        self.installed = False

    def request(self, requests: list[dict], timeout: float) -> list[dict]:
        if self.dead:
            raise KernelDied("the kernel is no longer running")
        payload = base64.b64encode(wire.pack({"requests": to_wire(requests)})).decode()
        code = ANSWER.format(payload=payload)
        if not self.installed:  # the agent's code goes in once; if the notebook removes it, again
            code = f"exec({INSTALL.format(source=AGENT_SOURCE)!r}, {{}})\n{code}"
        try:
            answer = self.run_sync(self._exchange)(code, timeout)
        except BadAnswer:
            if not self.installed:
                raise
            self.installed = False
            return self.request(requests, timeout)
        self.installed = True
        try:
            decoded = wire.unpack(answer, MAX_ANSWER_BYTES, torch, handle=self._remote)
        except wire.WireError as error:
            raise BadAnswer(str(error)) from None
        responses = decoded.get("responses") if type(decoded) is dict else None
        if type(responses) is not list or len(responses) != len(requests):
            raise BadAnswer("the answer does not match the request")
        return responses

    def _remote(self, id: int, type_name: str) -> Remote:
        return Remote(self, handle=id, type_name=type_name)

    async def _exchange(self, code: str, timeout: float) -> bytes:
        msg_id = self.kc.execute(code, silent=False, store_history=False, allow_stdin=False, stop_on_error=False)
        start = time.monotonic()
        deadline, found, heard = start + timeout, [], False
        while True:
            now = time.monotonic()
            if not heard and now - start > ACKNOWLEDGE_S:
                self.dead = True
                raise KernelDied(f"the kernel did not take the request within {ACKNOWLEDGE_S:.0f} s")
            remaining = deadline - now
            if remaining <= 0:
                await self._interrupt()
                raise KernelTimeout(f"no answer within {timeout:.0f} s")
            try:
                message = await self.kc.get_iopub_msg(timeout=min(remaining, 1.0))
            except (Empty, asyncio.TimeoutError):
                if not await self.km.is_alive():
                    self.dead = True
                    raise KernelDied("the kernel died") from None
                continue
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            heard = True
            kind, content = message["msg_type"], message["content"]
            if kind == "display_data" and wire.MIME in content.get("data", {}):
                found.append(content["data"][wire.MIME])
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        if len(found) != 1 or type(found[0]) is not str or len(found[0]) > MAX_ANSWER_BYTES * 4 // 3 + 4:
            raise BadAnswer(f"expected one answer, got {len(found)}")
        try:
            return base64.b64decode(found[0], validate=True)
        except ValueError:
            raise BadAnswer("the answer is not base64") from None

    async def _interrupt(self) -> None:
        """Stop a call that runs too long; a kernel that does not come back is treated as dead."""
        try:
            await self.km.interrupt_kernel()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    message = await self.kc.get_iopub_msg(timeout=1.0)
                except (Empty, asyncio.TimeoutError):
                    continue
                if message["msg_type"] == "status" and message["content"].get("execution_state") == "idle":
                    return
        except Exception:  # noqa: BLE001 (interrupting a dying kernel)
            pass
        self.dead = True


def to_wire(value: Any) -> Any:
    """The request with every Remote replaced by the handle or name the kernel knows it by."""
    if isinstance(value, Remote):
        return wire.Ref(value._ref) if value._ref is not None else wire.Handle(value._handle)
    if type(value) in (list, tuple):
        return type(value)(to_wire(v) for v in value)
    if type(value) is dict:
        return {k: to_wire(v) for k, v in value.items()}
    return value


def checked(answer: Any, what: str) -> dict:
    """One answer of the kernel, or the exception it stands for (StudentRaised, KernelTimeout, BadAnswer)."""
    if type(answer) is not dict:
        raise BadAnswer("malformed answer")
    if answer.get("interrupted"):
        raise KernelTimeout(f"{what} was interrupted")
    if "raised" in answer:
        raised = answer["raised"] if type(answer["raised"]) is dict else {}
        raise StudentRaised(str(raised.get("type", "?"))[:200], str(raised.get("message", ""))[:2000], what)
    if "ok" not in answer:
        raise BadAnswer("malformed answer")
    return answer


@dataclass
class Call:
    """What one call returned, with what the judge asked to see besides the value."""
    value: Any
    ops: set[str] = field(default_factory=set)
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


class Remote:
    """Something in the student's kernel: a notebook global (by name) or an object the kernel keeps."""

    def __init__(self, link: KernelLink, *, ref: str | None = None, handle: int | None = None,
                 type_name: str = "", what: str = ""):
        self._link, self._ref, self._handle = link, ref, handle
        self.type_name = type_name
        self._what = what or (ref.removeprefix("module:") if ref else f"a {type_name.rsplit('.', 1)[-1]}")

    def __repr__(self) -> str:
        return f"<student's {self._what}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.invoke(args, kwargs).value

    def invoke(self, args: tuple = (), kwargs: dict | None = None, *, keep: bool = False, no_grad: bool = False,
               record_ops: bool = False, return_args: bool = False, timeout: float = 120) -> Call:
        """Call it with options: keep the result in the kernel, no_grad, record the torch ops it runs,
        return the arguments as they are afterwards (to see whether it modified its inputs)."""
        request = {"op": "call", "target": self, "args": list(args), "kwargs": dict(kwargs or {}), "keep": keep,
                   "no_grad": no_grad, "record_ops": record_ops, "return_args": return_args}
        answer = self._one(request, timeout)
        call = Call(answer["ok"], set(answer.get("ops") or ()))
        if return_args:
            after = answer.get("args")
            if type(after) is not list or len(after) != len(args):
                raise BadAnswer("the arguments did not come back")
            call.args = tuple(after)
        return call

    def attr(self, name: str, timeout: float = 60) -> Any:
        """One attribute of the object: data, or another Remote."""
        value = self._one({"op": "getattr", "target": self, "name": name}, timeout)["ok"]
        if isinstance(value, Remote):
            value._what = f"{self._what}.{name}"
        return value

    def set(self, name: str, value: Any, timeout: float = 60) -> None:
        """Set an attribute of the object in the kernel (e.g. a parameter's `grad`)."""
        self._one({"op": "setattr", "target": self, "name": name, "value": value}, timeout)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.attr(name)

    def _one(self, request: dict, timeout: float) -> dict:
        return checked(self._link.request([request], timeout)[0], self._what)


class Batch:
    """Requests that travel to the kernel together and come back as one answer.

        batch = student.batch()
        step = batch.call(optimizer.step, what="step()")
        value = batch.call(student.module("torch.clone"), parameter)
        answers = batch.send()
        answers.value(value)

    Each request is answered on its own (one that raises does not stop the next). The answers are packed
    when the whole batch has run, so a request that must see a tensor as it is at that moment asks for a
    copy of it, not for the tensor itself.
    """

    def __init__(self, link: KernelLink, timeout: float = 300):
        self.link, self.timeout = link, timeout
        self.requests: list[dict] = []
        self.what: list[str] = []

    def _add(self, request: dict, what: str) -> int:
        self.requests.append(request)
        self.what.append(what)
        return len(self.requests) - 1

    def call(self, function: Remote, /, *args: Any, what: str = "", keep: bool = False, record_ops: bool = False,
             no_grad: bool = False, return_args: bool = False, **kwargs: Any) -> int:
        """Queue a call; returns its index in the answers."""
        return self._add({"op": "call", "target": function, "args": list(args), "kwargs": kwargs, "keep": keep,
                          "no_grad": no_grad, "record_ops": record_ops, "return_args": return_args},
                         what or repr(function))

    def set(self, target: Remote, name: str, value: Any) -> int:
        return self._add({"op": "setattr", "target": target, "name": name, "value": value}, f"setting .{name}")

    def get(self, target: Remote, name: str, what: str = "") -> int:
        return self._add({"op": "getattr", "target": target, "name": name}, what or f"reading .{name}")

    def send(self) -> Answers:
        raw = self.link.request(self.requests, self.timeout) if self.requests else []
        answers = Answers(raw, self.what)
        self.requests, self.what = [], []
        return answers


class Answers:
    """The kernel's answers to one Batch, read one by one (a request that raised raises StudentRaised)."""

    def __init__(self, raw: list, what: list[str]):
        self.raw, self.what = raw, what

    def ok(self, index: int) -> bool:
        answer = self.raw[index]
        if type(answer) is dict and answer.get("interrupted"):
            raise KernelTimeout(f"{self.what[index]} was interrupted")
        return type(answer) is dict and "ok" in answer

    def value(self, index: int) -> Any:
        return checked(self.raw[index], self.what[index])["ok"]

    def ops(self, index: int) -> set[str]:
        return set(checked(self.raw[index], self.what[index]).get("ops") or ())

    def args(self, index: int) -> list:
        """The arguments of a call made with return_args=True, as they were after the call."""
        args = checked(self.raw[index], self.what[index]).get("args")
        if type(args) is not list:
            raise BadAnswer("the arguments did not come back")
        return args


@dataclass
class Clock:
    """Wall time measured by the judge, and CPU time of the kernel's processes (None if unknown)."""
    wall: float = 0.0
    cpu: float | None = None


class Student:
    """The student's notebook as the judge sees it: `student.name` is the notebook global `name`."""

    def __init__(self, link: KernelLink, kernel_pid: int | None = None):
        self._link, self._pid = link, kernel_pid

    def __getattr__(self, name: str) -> Remote:
        if name.startswith("_"):
            raise AttributeError(name)
        return Remote(self._link, ref=name)

    def module(self, dotted: str) -> Remote:
        """Something importable in the kernel, e.g. `student.module("torch.manual_seed")`."""
        return Remote(self._link, ref=f"module:{dotted}")

    def batch(self, timeout: float = 300) -> Batch:
        """Requests that travel to the kernel together: one round trip for many calls (see Batch)."""
        return Batch(self._link, timeout)

    def spy(self, returns: Any = None) -> Remote:
        """A function in the kernel that records its calls (`.calls`: [(args, kwargs)]) and returns `returns`."""
        answer = self._link.request([{"op": "spy", "returns": returns}], 60)[0]
        if type(answer) is not dict or not isinstance(answer.get("ok"), Remote):
            raise BadAnswer("the kernel did not make the spy")
        answer["ok"]._what = "spy"
        return answer["ok"]

    @contextmanager
    def timer(self) -> Iterator[Clock]:
        clock, start, cpu0 = Clock(), time.perf_counter(), process_tree_cpu(self._pid)
        try:
            yield clock
        finally:
            clock.wall = time.perf_counter() - start
            cpu1 = process_tree_cpu(self._pid)
            clock.cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None


def process_tree_cpu(pid: int | None) -> float | None:
    """User + system CPU seconds of `pid` and all its descendants (Linux /proc), or None."""
    if pid is None or not Path(f"/proc/{pid}").exists():
        return None
    ticks, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")
