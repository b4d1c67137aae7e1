"""What crosses between the judge and the runner.

Messages are JSON lines on two pipes (the judge's operations one way, the runner's replies the other).
Tensors travel as raw storage bytes in files of an exchange folder (on /dev/shm where it has room),
named, typed and sized in the message. The judge treats everything the runner writes as untrusted
data: a reply that is not a JSON object, a file name outside the folder, a dtype it does not know or a
size that does not match is a ProtocolViolation, never an exception inside the judge's own checks.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import stat
from collections.abc import Sequence
from typing import Any

import torch
from pydantic import BaseModel, ValidationError

# A reply line never needs more: tensors go through files, logs are trimmed.
MAX_LINE_BYTES = 8 << 20
FILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}\.bin$")
DTYPES: dict[str, torch.dtype] = {
    str(d).removeprefix("torch."): d
    for d in (
        torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.complex64, torch.complex128,
        torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool,
    )
}  # fmt: skip
SCALARS = (int, float, bool, str, type(None))


class ProtocolViolation(Exception):
    """The peer wrote something the protocol does not allow."""


class PeerClosed(Exception):
    """The peer's end of the pipe closed: it exited or died."""


class PeerTimeout(Exception):
    """The peer did not answer before the deadline."""


class TensorRef(BaseModel):
    """One tensor in the exchange folder: its storage bytes, and how the tensor views them."""

    model_config = {"extra": "forbid"}

    file: str
    dtype: str
    shape: list[int]
    stride: list[int]
    offset: int
    nbytes: int


# ---------------------------------------------------------------- messages


class Channel:
    """JSON lines over a pair of pipe descriptors."""

    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd = read_fd
        self.write_fd = write_fd
        self._buffer = b""

    def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message, allow_nan=True) + "\n").encode()
        while data:
            data = data[os.write(self.write_fd, data) :]

    def receive(self, deadline: float | None = None) -> dict[str, Any]:
        from time import monotonic

        while b"\n" not in self._buffer:
            if len(self._buffer) > MAX_LINE_BYTES:
                raise ProtocolViolation(f"a message longer than {MAX_LINE_BYTES} bytes")
            wait = None if deadline is None else max(0.0, deadline - monotonic())
            if not select.select([self.read_fd], [], [], wait)[0]:
                raise PeerTimeout()
            data = os.read(self.read_fd, 1 << 16)
            if not data:
                raise PeerClosed()
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError:
            raise ProtocolViolation("a message that is not JSON") from None
        if not isinstance(message, dict):
            raise ProtocolViolation("a message that is not a JSON object")
        return message


def parse(model: type[BaseModel], message: dict[str, Any]) -> Any:
    """`message` validated as `model`, or a ProtocolViolation naming what was wrong."""
    try:
        return model.model_validate(message)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "message"
        raise ProtocolViolation(f"a malformed reply ({where}: {first.get('msg', 'invalid')})") from None


# ---------------------------------------------------------------- tensors


def write_tensor(t: torch.Tensor, folder: str, name: str) -> TensorRef:
    """Writes t's whole storage (so strides and offsets survive) to a new file folder/name.

    The file must not exist yet and is written through the descriptor that created it: the other
    side shares the folder, and a link it planted under the name must not redirect the write."""
    storage = t.detach().untyped_storage()
    raw = torch.empty(0, dtype=torch.uint8, device=t.device).set_(storage).cpu()
    size = raw.numel()
    fd = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        view = memoryview(raw.numpy().data) if size else memoryview(b"")
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    return TensorRef(
        file=name,
        dtype=str(t.dtype).removeprefix("torch."),
        shape=list(t.shape),
        stride=list(t.stride()),
        offset=t.storage_offset(),
        nbytes=size,
    )


def dtype_of(ref: TensorRef) -> torch.dtype:
    dtype = DTYPES.get(ref.dtype)
    if dtype is None:
        raise ProtocolViolation(f"a tensor of unknown dtype {ref.dtype[:40]!r}")
    return dtype


def _checked(ref: TensorRef, folder: str) -> tuple[str, torch.dtype]:
    if not FILE_NAME.match(ref.file):
        raise ProtocolViolation(f"a tensor file name that is not allowed: {ref.file[:80]!r}")
    dtype = dtype_of(ref)
    if len(ref.shape) != len(ref.stride) or any(d < 0 for d in ref.shape) or any(s < 0 for s in ref.stride):
        raise ProtocolViolation("a tensor whose shape and strides do not fit together")
    itemsize = torch.empty(0, dtype=dtype).element_size()
    numel = 1
    for d in ref.shape:
        numel *= d
    if numel:
        last = ref.offset + sum((d - 1) * s for d, s in zip(ref.shape, ref.stride, strict=True))
        if ref.offset < 0 or (last + 1) * itemsize > ref.nbytes:
            raise ProtocolViolation("a tensor that reaches past its own storage")
    return os.path.join(folder, ref.file), dtype


def read_tensor(ref: TensorRef, folder: str, device: torch.device) -> torch.Tensor:
    """A private copy of a tensor the peer wrote, after validating everything about it."""
    path, dtype = _checked(ref, folder)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as err:
        raise ProtocolViolation(f"a tensor file that cannot be opened ({err.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != ref.nbytes:
            raise ProtocolViolation("a tensor file whose size does not match its description")
        raw = torch.empty(ref.nbytes, dtype=torch.uint8)
        view, offset = memoryview(raw.numpy().data), 0
        while offset < ref.nbytes:
            got = os.preadv(fd, [view[offset:]], offset)
            if got <= 0:
                raise ProtocolViolation("a tensor file that shrank while it was read")
            offset += got
    finally:
        os.close(fd)
    out = torch.empty(0, dtype=dtype).set_(raw.untyped_storage(), ref.offset, ref.shape, ref.stride)
    return out.to(device) if device.type != "cpu" else out


def map_tensor(ref: TensorRef, folder: str) -> torch.Tensor:
    """The peer's tensor mapped shared: writes to it reach the file (and so the peer)."""
    path, dtype = _checked(ref, folder)
    raw = (
        torch.from_file(path, shared=True, size=ref.nbytes, dtype=torch.uint8)
        if ref.nbytes
        else torch.empty(0, dtype=torch.uint8)
    )
    return torch.empty(0, dtype=dtype).set_(raw.untyped_storage(), ref.offset, ref.shape, ref.stride)


def write_values(values: Sequence[Any], folder: str, prefix: str) -> list[dict[str, Any]]:
    """Each value as {"tensor": TensorRef} or {"scalar": value}."""
    items: list[dict[str, Any]] = []
    for i, v in enumerate(values):
        if isinstance(v, torch.Tensor):
            items.append({"tensor": write_tensor(v, folder, f"{prefix}-{i}.bin").model_dump()})
        elif isinstance(v, SCALARS):
            items.append({"scalar": v})
        else:
            raise TypeError(f"value {i} is a {type(v).__name__}; only tensors and scalars cross")
    return items


def parse_values(items: Any) -> list[TensorRef | Any]:
    """A value list's entries: TensorRefs (nothing mapped yet) and scalars."""
    if not isinstance(items, list):
        raise ProtocolViolation("a value list that is not a list")
    values: list[TensorRef | Any] = []
    for item in items:
        if isinstance(item, dict) and set(item) == {"tensor"}:
            values.append(parse(TensorRef, item["tensor"]))
        elif isinstance(item, dict) and set(item) == {"scalar"} and isinstance(item["scalar"], SCALARS):
            values.append(item["scalar"])
        else:
            raise ProtocolViolation("a value that is neither a tensor nor a scalar")
    return values


def read_values(items: Any, folder: str, device: torch.device, *, shared: bool = False) -> list[Any]:
    """Values written by write_values: private copies (judge), or shared mappings (runner)."""
    return [
        (map_tensor(v, folder) if shared else read_tensor(v, folder, device))
        if isinstance(v, TensorRef)
        else v
        for v in parse_values(items)
    ]


def remove_files(folder: str, items: Any) -> None:
    """Deletes the files a value list names (only names the protocol allows)."""
    for item in items if isinstance(items, list) else []:
        name = item.get("tensor", {}).get("file") if isinstance(item, dict) else None
        if isinstance(name, str) and FILE_NAME.match(name):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(folder, name))
