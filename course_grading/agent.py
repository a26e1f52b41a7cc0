"""The judge's messenger inside a student's kernel, and the data format both sides speak.

The judge (in the grader's own process) sends this file's source into the sandboxed kernel together
with one request: call a student's function on these inputs, read an attribute, make a spy. The
kernel answers with data only. Nothing here decides anything: whatever the kernel sends back is
treated as the student's answer and checked by the judge against its own reference, which never
enters the kernel. A student can rewrite this code in their kernel; that only changes what their own
answer looks like.

The format (`pack`/`unpack`): b"CJW1", a 4-byte header length, a JSON header, then raw array bytes.
No pickle, no zip, no code: values are None, bool, int, float, str, lists, tagged tuples, dicts,
dtypes, numbers and arrays of a fixed list of dtypes (tensors keep their torch dtype and type name),
and handles to objects that stay in the kernel. `unpack` checks every size against the payload, so a
hostile payload can at most fail to decode.

This module must stay standalone (standard library and numpy; torch and course_utils only where
needed): it is executed as source in the kernel, where the course's grading package is not installed.
"""
from __future__ import annotations

import base64
import json
import struct
import sys

import numpy as np

MIME = "application/vnd.course-judge"
MAGIC = b"CJW1"
MAX_HEADER_BYTES = 16 * 2**20  # the JSON part (numbers in lists, strings); arrays travel as raw bytes
ARRAY_DTYPES = {"bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
                "complex64", "complex128"}
TORCH_ONLY = {"bfloat16": "float32"}  # torch dtypes numpy lacks, sent widened


class WireError(ValueError):
    """A payload that is not in the format (or exceeds a limit)."""


# ---------------------------------------------------------------- encoding (both sides)

class Encoder:
    """Turns a value into a JSON tree plus a list of arrays; objects it cannot send become handles."""

    def __init__(self, keep=None):
        self.arrays: list[np.ndarray] = []
        self.keep = keep  # callable(obj) -> handle id, or None: then unsendable objects are an error

    def array(self, values: np.ndarray) -> int:
        self.arrays.append(values if values.flags.c_contiguous else values.copy(order="C"))
        return len(self.arrays) - 1

    def encode(self, value, depth: int = 0):
        if depth > 64:
            raise WireError("value nested too deeply")
        if value is None or isinstance(value, (bool, str)) or type(value) in (int, float):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, np.generic):  # int/float subclasses
            return {"$t": "number", "type": _qualname(type(value)), "v": float(value) if isinstance(value, float)
                    else int(value)}
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(value, torch.Tensor):
            return self._tensor(value, torch)
        if torch is not None and isinstance(value, torch.dtype):
            return {"$t": "dtype", "v": str(value).removeprefix("torch.")}
        if torch is not None and isinstance(value, torch.device):
            return {"$t": "device", "v": str(value)}
        if isinstance(value, np.ndarray):
            return self._ndarray(value)
        if isinstance(value, np.generic):
            return {"$t": "scalar", "dtype": value.dtype.name, "v": value.item() if value.dtype.kind != "c"
                    else [value.real.item(), value.imag.item()]}
        if type(value) in (list, tuple):
            items = [self.encode(v, depth + 1) for v in value]
            return items if type(value) is list else {"$t": "tuple", "v": items}
        if type(value) is dict:
            return {"$t": "dict", "v": [[self.encode(k, depth + 1), self.encode(v, depth + 1)]
                                         for k, v in value.items()]}
        if isinstance(value, Handle):
            return {"$t": "handle", "id": value.id, "type": value.type}
        if isinstance(value, Ref):
            return {"$t": "ref", "name": value.name}
        if self.keep is None:
            raise WireError(f"cannot send a {_qualname(type(value))}")
        return {"$t": "handle", "id": self.keep(value), "type": _qualname(type(value))}

    def _tensor(self, value, torch):
        kind = _qualname(type(value))
        tensor = value.detach()
        if type(tensor) is not torch.Tensor:
            tensor = tensor.as_subclass(torch.Tensor)
        if tensor.layout != torch.strided or tensor.device.type == "meta":
            raise WireError(f"cannot send a {tensor.layout} tensor on {tensor.device}")
        dtype = str(tensor.dtype).removeprefix("torch.")
        tensor = tensor.cpu().resolve_conj().resolve_neg()
        if dtype in TORCH_ONLY:
            tensor = tensor.to(getattr(torch, TORCH_ONLY[dtype]))
        elif dtype not in ARRAY_DTYPES:
            raise WireError(f"cannot send a tensor of dtype {dtype}")
        return {"$t": "tensor", "i": self.array(tensor.numpy()), "dtype": dtype, "type": kind,
                "requires_grad": bool(value.requires_grad), "device": str(value.device)}

    def _ndarray(self, value):
        if value.dtype.name not in ARRAY_DTYPES:
            raise WireError(f"cannot send an array of dtype {value.dtype}")
        return {"$t": "ndarray", "i": self.array(value), "type": _qualname(type(value))}


def _qualname(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class Handle:
    """An object that stays in the kernel, named by a number."""

    def __init__(self, id: int, type: str = ""):
        self.id, self.type = id, type

    def __repr__(self) -> str:
        return f"<kernel object #{self.id}: {self.type}>"


class Ref:
    """A name to look up in the kernel: a global of the notebook, or `module:dotted.name` to import."""

    def __init__(self, name: str):
        self.name = name


def pack(value, keep=None) -> bytes:
    """Serialise `value` (see Encoder) into the wire format."""
    encoder = Encoder(keep)
    tree = encoder.encode(value)
    offset, specs, blobs = 0, [], []
    for array in encoder.arrays:
        data = array.tobytes()
        specs.append({"dtype": array.dtype.name, "shape": list(array.shape), "offset": offset, "nbytes": len(data)})
        blobs.append(data)
        offset += len(data)
    header = json.dumps({"value": tree, "arrays": specs}, allow_nan=True).encode()
    return MAGIC + struct.pack("<I", len(header)) + header + b"".join(blobs)


# ---------------------------------------------------------------- decoding (both sides)

def unpack(payload: bytes, max_bytes: int, torch_module=None, handle=Handle, ref=None):
    """Decode a payload into Python values, tensors (when `torch_module` is given) and handles.

    Raises WireError for anything malformed or over `max_bytes`; never runs code from the payload.
    """
    if len(payload) > max_bytes:
        raise WireError(f"the answer is {len(payload):,} bytes; the limit is {max_bytes:,}")
    if payload[:4] != MAGIC or len(payload) < 8:
        raise WireError("not a judge message")
    (length,) = struct.unpack("<I", payload[4:8])
    if 8 + length > len(payload):
        raise WireError("truncated header")
    if length > MAX_HEADER_BYTES:
        raise WireError(f"the answer's structure is {length:,} bytes; the limit is {MAX_HEADER_BYTES:,} (send tensors)")
    try:
        header = json.loads(payload[8:8 + length].decode())
    except (ValueError, RecursionError) as error:
        raise WireError(f"unreadable header ({type(error).__name__})") from None
    if type(header) is not dict or type(header.get("arrays")) is not list:
        raise WireError("malformed header")
    body = memoryview(payload)[8 + length:]
    arrays = [_array(spec, body) for spec in header["arrays"]]
    return _Decoder(arrays, torch_module, handle, ref).decode(header.get("value"), 0)


def _array(spec, body: memoryview) -> np.ndarray:
    if type(spec) is not dict:
        raise WireError("malformed array")
    dtype, shape, offset, nbytes = spec.get("dtype"), spec.get("shape"), spec.get("offset"), spec.get("nbytes")
    if dtype not in ARRAY_DTYPES or type(shape) is not list or len(shape) > 32:
        raise WireError("malformed array")
    if not all(type(n) is int and n >= 0 for n in [*shape, offset, nbytes]):
        raise WireError("malformed array")
    count = 1
    for n in shape:
        count *= n
    if count * np.dtype(dtype).itemsize != nbytes or offset + nbytes > len(body):
        raise WireError("array sizes do not match the payload")
    return np.frombuffer(body[offset:offset + nbytes], dtype=dtype).reshape(shape).copy()


class _Decoder:
    def __init__(self, arrays, torch_module, handle, ref):
        self.arrays, self.torch, self.handle, self.ref = arrays, torch_module, handle, ref

    def decode(self, tree, depth: int):
        if depth > 64:
            raise WireError("value nested too deeply")
        if tree is None or type(tree) in (bool, int, float, str):
            return tree
        if type(tree) is list:
            return [self.decode(v, depth + 1) for v in tree]
        if type(tree) is not dict:
            raise WireError("malformed value")
        tag = tree.get("$t")
        if tag == "tuple":
            return tuple(self.decode(v, depth + 1) for v in self._list(tree))
        if tag == "dict":
            pairs = [self._pair(p, depth) for p in self._list(tree)]
            try:
                return dict(pairs)
            except TypeError:
                raise WireError("a dict key that cannot be a key") from None
        if tag in ("tensor", "ndarray"):
            return self._array_value(tree, tag)
        if tag == "dtype" and self.torch is not None:
            return self._torch_dtype(tree.get("v"))
        if tag == "device" and self.torch is not None and type(tree.get("v")) is str:
            return Foreign("torch.device", tree["v"])
        if tag in ("dtype", "device") and type(tree.get("v")) is str:
            return Foreign(tag, tree["v"])
        if tag == "scalar":
            return self._scalar(tree)
        if tag == "number" and type(tree.get("v")) in (int, float):
            return Foreign(str(tree.get("type")), tree["v"])
        if tag == "handle" and type(tree.get("id")) is int:
            return self.handle(tree["id"], str(tree.get("type", "")))
        if tag == "ref" and type(tree.get("name")) is str and self.ref is not None:
            return self.ref(tree["name"])
        raise WireError(f"unknown value tag {str(tag)[:40]!r}")

    @staticmethod
    def _list(tree) -> list:
        if type(tree.get("v")) is not list:
            raise WireError("malformed value")
        return tree["v"]

    def _pair(self, pair, depth):
        if type(pair) is not list or len(pair) != 2:
            raise WireError("malformed dict")
        return self.decode(pair[0], depth + 1), self.decode(pair[1], depth + 1)

    def _array_value(self, tree, tag):
        index = tree.get("i")
        if type(index) is not int or not 0 <= index < len(self.arrays):
            raise WireError("malformed array reference")
        values = self.arrays[index]
        if tag == "ndarray" or self.torch is None:
            return Received(values, tree) if tag == "tensor" else values
        dtype = tree.get("dtype")
        tensor = self.torch.from_numpy(values)
        if dtype in TORCH_ONLY:
            tensor = tensor.to(getattr(self.torch, dtype))
        elif dtype != values.dtype.name:
            raise WireError("tensor dtype does not match its data")
        return _mark(tensor, tree)

    def _torch_dtype(self, name):
        dtype = getattr(self.torch, name, None) if type(name) is str else None
        if not isinstance(dtype, self.torch.dtype):
            raise WireError("unknown dtype")
        return dtype

    @staticmethod
    def _scalar(tree):
        dtype, value = tree.get("dtype"), tree.get("v")
        if dtype not in ARRAY_DTYPES:
            raise WireError("unknown scalar dtype")
        if type(value) is list and len(value) == 2:
            value = complex(*value)
        return np.array(value, dtype=dtype)[()]


class Foreign:
    """A value of a type the receiver does not rebuild (a torch.device in the kernel, an int subclass)."""

    def __init__(self, type: str, value):
        self.type, self.value = type, value

    def __repr__(self) -> str:
        return f"<{self.type} {self.value!r}>"


class Received:
    """A tensor decoded without torch (the kernel side never needs this; kept for completeness)."""

    def __init__(self, values, tree):
        self.values, self.meta = values, tree


def _mark(tensor, tree):
    """Remember what the kernel said about a tensor (its exact type, requires_grad, device)."""
    tensor.kernel_type = str(tree.get("type", "torch.Tensor"))
    tensor.kernel_requires_grad = bool(tree.get("requires_grad", False))
    tensor.kernel_device = str(tree.get("device", "cpu"))
    return tensor


# ---------------------------------------------------------------- the kernel side

class Agent:
    """Carries out the judge's requests in the kernel and publishes each answer as display data."""

    def __init__(self):
        self.objects: dict[int, object] = {}
        self.next_id = 1

    def keep(self, obj) -> int:
        self.objects[self.next_id] = obj
        self.next_id += 1
        return self.next_id - 1

    def resolve(self, value):
        if isinstance(value, Handle):
            if value.id not in self.objects:
                raise LookupError(f"no kernel object #{value.id}")
            return self.objects[value.id]
        if isinstance(value, Ref):
            return _lookup(value.name)
        if type(value) is list:
            return [self.resolve(v) for v in value]
        if type(value) is tuple:
            return tuple(self.resolve(v) for v in value)
        if type(value) is dict:
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def answer(self, request_b64: str) -> None:
        torch = sys.modules.get("torch")
        request = unpack(base64.b64decode(request_b64), 1 << 31, torch, Handle, Ref)
        responses = [self.run(r) for r in request["requests"]]
        payload = pack({"responses": responses}, keep=self.keep)
        _publish(base64.b64encode(payload).decode())

    def run(self, request: dict):
        try:
            op = request["op"]
            if op == "call":
                return self.call(request)
            if op == "getattr":
                return {"ok": getattr(self.resolve(request["target"]), request["name"])}
            if op == "setattr":
                setattr(self.resolve(request["target"]), request["name"], self.resolve(request["value"]))
                return {"ok": None}
            if op == "spy":
                return {"ok": Handle(self.keep(Spy(self.resolve(request["returns"]))), "Spy")}
            if op == "release":
                for id in request["ids"]:
                    self.objects.pop(id, None)
                return {"ok": None}
            raise ValueError(f"unknown request {op!r}")
        except BaseException as error:  # noqa: BLE001 (report anything the student's code raised)
            if isinstance(error, KeyboardInterrupt):
                return {"interrupted": True}
            return {"raised": {"type": _qualname(type(error)), "message": _message(error)}}

    def call(self, request: dict) -> dict:
        target = self.resolve(request["target"])
        args, kwargs = self.resolve(request.get("args", [])), self.resolve(request.get("kwargs", {}))
        with _recording(request.get("record_ops", False)) as ops, _no_grad(request.get("no_grad", False)):
            result = target(*args, **kwargs)
        answer = {"ok": Handle(self.keep(result), _qualname(type(result))) if request.get("keep") else result}
        if request.get("record_ops"):
            answer["ops"] = sorted(ops)
        if request.get("return_args"):
            answer["args"] = args
        return answer


class Spy:
    """Stands in for a function the student's code must call: records calls, returns a fixed value."""

    def __init__(self, returns):
        self.returns, self.calls = returns, []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return _fresh_copy(self.returns)


def _fresh_copy(value):
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return value.clone()
    if type(value) in (list, tuple):
        return type(value)(_fresh_copy(v) for v in value)
    if type(value) is dict:
        return {k: _fresh_copy(v) for k, v in value.items()}
    return value


def _lookup(name: str):
    if name.startswith("module:"):  # the longest importable prefix, then attributes: torch.Tensor.copy_
        import importlib
        parts = name[len("module:"):].split(".")
        for cut in range(len(parts), 0, -1):
            try:
                value = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attribute in parts[cut:]:
                value = getattr(value, attribute)
            return value
        raise ImportError(f"nothing importable in {name!r}")
    namespace = _user_namespace()
    if name not in namespace:
        raise NameError(f"name {name!r} is not defined in the notebook")
    return namespace[name]


def _user_namespace() -> dict:
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell.user_ns if shell is not None else vars(sys.modules["__main__"])


def _message(error: BaseException) -> str:
    try:
        text = str(error)
    except BaseException:  # noqa: BLE001 (a student's exception whose __str__ fails)
        text = "(no message)"
    return text[:2000]


def _recording(enabled: bool):
    """The names of the torch operators and library functions a call runs (course_utils.testing)."""
    import contextlib
    if not enabled:
        return contextlib.nullcontext(set())
    from course_utils.testing import record_calls
    return record_calls()


def _no_grad(enabled: bool):
    import contextlib
    if not enabled:
        return contextlib.nullcontext()
    import torch
    return torch.no_grad()


def _publish(data: str) -> None:
    from IPython.display import publish_display_data
    publish_display_data({MIME: data})
