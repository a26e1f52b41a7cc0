"""Hidden tests, written as judges that run in the grader's process, never in the student's kernel.

An assignment's hidden tests live in `solutions/<assignment>/judge.py` (instructor only: never
released, never copied next to a submission). Per graded part the author writes a reference, a case
generator and a comparison:

    from course_grading.judge import Judge, case, expect_equal, expect_tensor

    judge = Judge()

    def ref_predict(X, w, b):                      # the reference: it never leaves this process
        return [int(s > 0) for s in (X.double() @ w.double() + float(b)).tolist()]

    @judge.part("test_perceptron")                 # scores the test cell with this grade_id
    def perceptron(student, draw):                 # student: the notebook; draw: private random cases
        for _ in range(30):
            X, w, b = draw.randn(draw.int(1, 12), 3), draw.randn(3), draw.randn(())
            with case("random inputs", N=len(X)):
                got = student.perceptron_predict(X, w, b)          # runs in the kernel; data comes back
                expect_tensor(got, "perceptron_predict(X, w, b)", dtype=torch.int64, shape=(len(X),))
                expect_equal(got.tolist(), ref_predict(X, w, b), "the predictions")

When a part's function returns without a failed expectation the part is passed. The grader writes
the verdict into the test cell's output itself, so nothing the kernel prints or raises decides a
point. See CONTRIBUTING.md for the whole API (`student.spy`, `student.timer`, `.invoke(record_ops=...)`,
`mistakes=` for feedback that names a catalogued mistake).
"""
from __future__ import annotations

import contextvars
import importlib.util
import math
import random
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .remote import KernelProblem, Remote, Student, StudentRaised

PartFunction = Callable[[Student, "Draw"], None]
_SHOW_ALL = 10  # comparisons print whole values up to this many numbers


class Failed(AssertionError):
    """An expectation did not hold; the message is what the student reads."""

    def __init__(self, message: str, mistake: str | None = None):
        super().__init__(message)
        self.mistake = mistake


@dataclass
class Part:
    grade_id: str
    check: PartFunction
    timeout: float  # seconds for the whole part


class Judge:
    """The hidden tests of one notebook: one registered function per graded test cell."""

    def __init__(self) -> None:
        self.parts: dict[str, Part] = {}
        self.advisory: dict[str, set[str]] = {}  # answer cell grade id -> names the static scan reports

    def advise_against(self, answer_id: str, *names: str) -> None:
        """Report (advisory, without holding points) answer cell `answer_id` naming one of `names`, e.g.
        `conv2d`: a second line behind the judge's own check of the operators a call runs."""
        self.advisory.setdefault(answer_id, set()).update(names)

    def part(self, grade_id: str, timeout: float = 600) -> Callable[[PartFunction], PartFunction]:
        def register(check: PartFunction) -> PartFunction:
            if grade_id in self.parts:
                raise ValueError(f"two judges for {grade_id}")
            self.parts[grade_id] = Part(grade_id, check, timeout)
            return check
        return register


def load_judge(path: Path) -> Judge:
    """The `judge` object of a judge file (instructor code, imported in the grader's process)."""
    spec = importlib.util.spec_from_file_location(f"course_judge_{abs(hash(str(path)))}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look their module up there
    spec.loader.exec_module(module)
    judge = getattr(module, "judge", None)
    if not isinstance(judge, Judge):
        raise TypeError(f"{path} defines no `judge = Judge()`")
    return judge


# ---------------------------------------------------------------- random cases

class Draw:
    """Private random inputs for one part: the same seed gives the same cases, the student's seeding
    changes nothing, and the seed itself is chosen anew for each grading run."""

    def __init__(self, seed: int):
        self.seed = seed
        self.gen = torch.Generator().manual_seed(seed)
        self.py = random.Random(seed)

    def int(self, low: int, high: int) -> int:
        """An integer in [low, high] (both included)."""
        return self.py.randint(low, high)

    def uniform(self, low: float, high: float) -> float:
        return self.py.uniform(low, high)

    def choice(self, options: Sequence[Any]) -> Any:
        return self.py.choice(list(options))

    def sample(self, population: Sequence[Any], k: int) -> list[Any]:
        return self.py.sample(list(population), k)

    def randn(self, *shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.randn(*shape, generator=self.gen, dtype=torch.float64).to(dtype)

    def rand(self, *shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.rand(*shape, generator=self.gen, dtype=torch.float64).to(dtype)

    def randint(self, low: int, high: int, shape: Sequence[int], dtype: torch.dtype = torch.int64) -> torch.Tensor:
        """Integers in [low, high) like torch.randint."""
        return torch.randint(low, high, tuple(shape), generator=self.gen).to(dtype)

    def dyadic(self, *shape: int, low: int = -4, high: int = 4, scale: int = 2,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Multiples of 1/scale in [low/scale, high/scale]: exact in floating point, ties included."""
        return (torch.randint(low, high + 1, shape, generator=self.gen).double() / scale).to(dtype)

    def new_seed(self) -> int:
        """A seed to hand to the student's code (e.g. `train(seed)`)."""
        return self.py.randrange(1, 2**31)


# ---------------------------------------------------------------- cases and expectations

_CASE: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("course_judge_case", default=())
# The default list is shared on purpose: a write-only sink for checks made outside run_part.
_CHECKS: contextvars.ContextVar[list[int]] = contextvars.ContextVar("course_judge_checks", default=[0])  # noqa: B039


@contextmanager
def case(name: str, **details: Any) -> Iterator[None]:
    """Label the checks inside: a failure says which case (and its sizes, dtypes, edge values) failed."""
    label = name + (f" ({', '.join(f'{k}={_short(v)}' for k, v in details.items())})" if details else "")
    token = _CASE.set((*_CASE.get(), label))
    try:
        yield
    except StudentRaised as raised:
        fail(str(raised))
    finally:
        _CASE.reset(token)


def _short(value: Any) -> str:
    if isinstance(value, torch.dtype):
        return str(value).removeprefix("torch.")
    if isinstance(value, tuple):
        return "(" + ", ".join(_short(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return str(value) if not isinstance(value, float) else f"{value:.4g}"


def fail(message: str, mistake: str | None = None) -> None:
    """Fail the part with `message` (prefixed with the current case)."""
    where = " › ".join(_CASE.get())
    raise Failed(f"{where}: {message}" if where else message, mistake)


def expect(condition: bool, message: str) -> None:
    _CHECKS.get()[0] += 1
    if not condition:
        fail(message)


def kernel_type(value: Any) -> str:
    """The exact type a value had in the student's kernel ("torch.Tensor", "builtins.list", ...)."""
    if isinstance(value, Remote):
        return value.type_name
    if isinstance(value, torch.Tensor):
        return getattr(value, "kernel_type", "torch.Tensor")
    return f"{type(value).__module__}.{type(value).__qualname__}"


_TYPE_NAMES = {torch.Tensor: "torch.Tensor", list: "builtins.list", tuple: "builtins.tuple", int: "builtins.int",
               float: "builtins.float", bool: "builtins.bool", dict: "builtins.dict", str: "builtins.str",
               type(None): "builtins.NoneType"}


def expect_type(value: Any, expected: type | str, name: str) -> None:
    """Exactly this type in the kernel (a subclass, or a NumPy array where a tensor is due, fails)."""
    want = _TYPE_NAMES.get(expected, expected) if not isinstance(expected, str) else expected
    if isinstance(want, type):
        want = f"{want.__module__}.{want.__qualname__}"
    got = kernel_type(value)
    _CHECKS.get()[0] += 1
    if got != want and not got.endswith("." + want):
        fail(f"{name} should be a {_plain(want)}, got a {_plain(got)}")


def _plain(type_name: str) -> str:
    return type_name.removeprefix("builtins.")


def expect_tensor(value: Any, name: str, dtype: torch.dtype | None = None, shape: Sequence[int] | None = None,
                  parameter: bool = False) -> torch.Tensor:
    """A plain torch.Tensor (or an nn.Parameter, with `parameter=True`), optionally of this dtype and shape."""
    if parameter and kernel_type(value) == "torch.nn.parameter.Parameter":
        expect_type(value, "torch.nn.parameter.Parameter", name)
    else:
        expect_type(value, torch.Tensor, name)
    if dtype is not None:
        expect(value.dtype == dtype, f"{name} should have dtype {_short(dtype)}, got {_short(value.dtype)}")
    if shape is not None:
        expect(tuple(value.shape) == tuple(shape),
               f"{name} should have shape {_short(tuple(shape))}, got {_short(tuple(value.shape))}")
    return value


def expect_equal(actual: Any, expected: Any, name: str, mistakes: dict[str, Any] | None = None) -> None:
    """Exactly equal (lists, ints, tensors compared element by element, tensor dtypes included)."""
    _CHECKS.get()[0] += 1
    if _equal(actual, expected):
        return
    fail(f"{name}: {_difference(actual, expected)}", _matching_mistake(actual, mistakes, _equal))


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, torch.Tensor) or isinstance(expected, torch.Tensor):
        if not (isinstance(actual, torch.Tensor) and isinstance(expected, torch.Tensor)):
            return False
        return actual.shape == expected.shape and actual.dtype == expected.dtype and bool(torch.equal(actual, expected))
    if type(actual) is not type(expected) and not (_is_number(actual) and _is_number(expected)):
        return False
    if isinstance(actual, (list, tuple)):
        return len(actual) == len(expected) and all(_equal(a, e) for a, e in zip(actual, expected))
    if isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(_equal(actual[k], expected[k]) for k in actual)
    return actual == expected


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _difference(actual: Any, expected: Any) -> str:
    if isinstance(actual, torch.Tensor) and isinstance(expected, torch.Tensor):
        if actual.shape != expected.shape:
            return f"shape {_short(tuple(actual.shape))}, expected {_short(tuple(expected.shape))}"
        if actual.dtype != expected.dtype:
            return f"dtype {_short(actual.dtype)}, expected {_short(expected.dtype)}"
        actual, expected = actual.tolist(), expected.tolist()
    if isinstance(actual, list) and isinstance(expected, list) and len(actual) == len(expected):
        wrong = [i for i, (a, e) in enumerate(zip(actual, expected)) if not _equal(a, e)]
        if len(expected) <= _SHOW_ALL:
            return f"got {actual!r}, expected {expected!r}"
        return (f"{len(wrong)} of {len(expected)} entries differ, e.g. at index {wrong[0]}: "
                f"got {actual[wrong[0]]!r}, expected {expected[wrong[0]]!r}")
    return f"got {_preview(actual)}, expected {_preview(expected)}"


def _preview(value: Any) -> str:
    if isinstance(value, Remote):
        return f"a {value.type_name.rsplit('.', 1)[-1]}"
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def _floats(value: Any) -> tuple[list[float], tuple[int, ...]] | None:
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            return None
        return value.detach().double().reshape(-1).tolist(), tuple(value.shape)
    if _is_number(value) or type(value) is bool:
        return [float(value)], ()
    try:
        flat = torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return None
    return flat.reshape(-1).tolist(), tuple(flat.shape)


def _close(actual: Any, expected: Any, atol: float, rtol: float) -> tuple[bool, str]:
    got, want = _floats(actual), _floats(expected)
    if got is None:
        return False, f"got {_preview(actual)}, expected numbers"
    if want is None:
        raise TypeError("expected value is not numeric")
    (g, g_shape), (w, w_shape) = got, want
    if g_shape != w_shape:
        return False, f"shape {_short(g_shape)}, expected {_short(w_shape)}"
    worst, where = 0.0, None
    for i, (a, e) in enumerate(zip(g, w)):
        if math.isnan(e) or math.isinf(e):
            if not (a == e or (math.isnan(a) and math.isnan(e))):
                return False, f"element {i} is {a}, expected {e}"
            continue
        excess = abs(a - e) - (atol + rtol * abs(e)) if not math.isnan(a) else math.inf
        if excess > 0 and (where is None or excess > worst):
            worst, where = excess, i
    if where is None:
        return True, ""
    error = max(abs(a - e) for a, e in zip(g, w) if not (math.isnan(e) or math.isinf(e)))
    if len(w) <= _SHOW_ALL:
        return False, (f"got {[float(f'{a:.6g}') for a in g]}, expected {[float(f'{e:.6g}') for e in w]} "
                       f"(largest error {error:.3g}; tolerance atol={atol:g}, rtol={rtol:g})")
    index = _unravel(where, w_shape)
    return False, (f"differs by up to {error:.3g}; at index {index} got {g[where]:.6g}, expected {w[where]:.6g} "
                   f"(tolerance atol={atol:g}, rtol={rtol:g})")


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    index = []
    for size in reversed(shape):
        index.append(flat % size)
        flat //= size
    return tuple(reversed(index))


def expect_close(actual: Any, expected: Any, name: str, atol: float = 1e-6, rtol: float = 1e-5,
                 mistakes: dict[str, Any] | None = None) -> None:
    """Same shape, every element within atol + rtol·|expected|. `mistakes` maps a catalogued mistake
    (what the student probably did) to the value it gives: a failure that matches one names it."""
    _CHECKS.get()[0] += 1
    ok, why = _close(actual, expected, atol, rtol)
    if not ok:
        fail(f"{name}: {why}", _matching_mistake(actual, mistakes, lambda a, m: _close(a, m, atol, rtol)[0]))


def _matching_mistake(actual: Any, mistakes: dict[str, Any] | None, same: Callable[[Any, Any], bool]) -> str | None:
    for label, value in (mistakes or {}).items():
        try:
            if same(actual, value):
                return label
        except (TypeError, ValueError):
            continue
    return None


def expect_no_ops(ops: set[str], forbidden: set[str], what: str) -> None:
    """The recorded torch operators of a call (`.invoke(record_ops=True).ops`) avoid `forbidden`."""
    _CHECKS.get()[0] += 1
    used = sorted(ops & forbidden)
    if used:
        fail(f"{what} must be implemented without PyTorch's own implementation, but it ran {', '.join(used[:4])}")


# ---------------------------------------------------------------- running a part

@dataclass
class Verdict:
    grade_id: str
    passed: bool
    message: str  # for the student
    checks: int = 0
    mistake: str | None = None
    problem: str | None = None  # for the instructor: the kernel failed, or the judge itself broke
    seconds: float = 0.0


def run_part(part: Part, student: Student, seed: int) -> Verdict:
    """Run one part's judge; every outcome becomes a Verdict (nothing propagates)."""
    counter = [0]
    token = _CHECKS.set(counter)
    try:
        part.check(student, Draw(seed))
        return Verdict(part.grade_id, True, f"all {counter[0]} checks passed", counter[0])
    except Failed as failure:
        message = str(failure)
        if failure.mistake:
            message += f"\nThis is what you get if {failure.mistake}."
        return Verdict(part.grade_id, False, message, counter[0], failure.mistake)
    except StudentRaised as raised:
        return Verdict(part.grade_id, False, str(raised), counter[0])
    except KernelProblem as problem:
        return Verdict(part.grade_id, False, f"the notebook did not answer: {problem}", counter[0],
                       problem=f"{type(problem).__name__}: {problem}")
    except Exception as error:  # noqa: BLE001 (an answer of an unexpected kind, or a bug in the judge)
        detail = traceback.format_exc(limit=-3)
        return Verdict(part.grade_id, False, f"your answer could not be checked ({type(error).__name__}); "
                       "an instructor will look at it", counter[0], problem=f"judge error: {detail}")
    finally:
        _CHECKS.reset(token)
