"""Figures built once per content: a chart or display table is computed again only when the frames
and values it is built from change.

A page's rerun reads its frames from the read cache, then builds the same charts and display
tables from them as the previous run did: in a warm rerun, Altair's construction and the Polars
formatting of the figures were ≈ 60 % of the script's CPU (docs/performance.md, item 14). With
`@by_content`, a figure function's result is kept under its name and a digest of its arguments'
content — a frame by its schema and the hashes of its rows, in order — so every session of the
process gets the one already built. The results are shared: callers treat them as read-only (Altair's
methods return copies, Polars frames do not change in place).

A call whose arguments the digest cannot take (an object other than frames, series, plain values,
dataclasses and containers of them) simply runs the function.

Hashing rows costs in proportion to the cells. A frame whose content is already named needs none:
`tag` marks a frame with a token that names its content — `ui.cached` tags what a read returns
with the read's key (function, store, data version and its token, arguments, périmètre), and
`by_content` tags the frames it returns with its own key — and the digest takes the token instead
of the rows. A tag lives on that frame object only: Polars never copies it to a derived frame, and
the project never changes a frame in place.

Reads share too: several reads call the same query function with the same arguments (the instances'
cadence feeds the readiness checklist, the overview's alerts and the Gouvernance page). Within
`reading` — `ui.cached` computing a read of one data version — a `@per_version` function's result
is kept under that version and its arguments, so the reads of a version compute it once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import ParamSpec, TypeVar, cast

import polars as pl

BUDGET_BYTES = 96 * 1024 * 1024  # input frames' size of the kept results, the oldest dropped first
MAX_KEPT = 4096  # and at most this many results (those built from plain values only weigh nothing)
_PLAIN = (str, int, float, type(None), date, datetime, time, timedelta, Decimal)  # bool is an int

_TAG = "_cdv_content"  # the attribute holding a frame's content token (see `tag`)

_lock = threading.Lock()
_kept: OrderedDict[tuple[str, bytes], tuple[object, int]] = OrderedDict()  # key → (result, weight)
_weight = 0
_MISSING = object()
_P = ParamSpec("_P")
_R = TypeVar("_R")

# The data version of the read being computed in this thread (`reading`), for `per_version`.
_version: ContextVar[bytes | None] = ContextVar("cdv_data_version", default=None)


class _NoDigest(Exception):
    """An argument the digest cannot take."""


def by_content(fn):
    """`fn`'s result kept per content of its arguments (see the module's docstring)."""
    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            digest, weight = _digest((args, sorted(kwargs.items())))
        except _NoDigest:
            return fn(*args, **kwargs)
        key = (name, digest)
        if (found := _found(key)) is not _MISSING:
            return found
        result = fn(*args, **kwargs)  # outside the lock: two sessions may build it at once, both right
        tag(result, name.encode() + digest)
        _keep(key, result, weight)
        return result

    wrapper.uncached = fn  # type: ignore[attr-defined]
    return wrapper


@contextlib.contextmanager
def reading(version: bytes | None) -> Iterator[None]:
    """Within it, this thread computes a read of the data version `version` (a token of the
    store, its version and the version's token, which every write changes; None: share nothing):
    `per_version` functions keep their results for it."""
    reset = _version.set(version)
    try:
        yield
    finally:
        _version.reset(reset)


def per_version(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """A query function `fn(cur, **kwargs)` that several reads call with the same arguments: within
    `reading`, its result is kept under the data version and the arguments, so the reads of one
    version compute it once (see the module's docstring); elsewhere (imports, exports, reports,
    tests) it simply runs. Its result is shared: callers treat it as read-only."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    call = cast(Callable[..., _R], fn)

    @functools.wraps(fn)
    def wrapper(cur, /, **kwargs) -> _R:
        version = _version.get()
        if version is None:
            return call(cur, **kwargs)
        try:
            digest, _ = _digest(sorted(kwargs.items()))
        except _NoDigest:
            return call(cur, **kwargs)
        key = (name, version + digest)
        if (found := _found(key)) is not _MISSING:
            return cast(_R, found)
        result = call(cur, **kwargs)
        _keep(key, result, _size(result))
        return result

    return cast(Callable[_P, _R], wrapper)


def tag(value: object, token: bytes) -> None:
    """Name the content of the frames in `value` (a frame, or a dict, list, tuple or dataclass
    holding frames) by `token`, each with its place in `value`: their digest is then the token,
    not their rows'. `token` must change whenever the content can (see the module's docstring)."""
    if isinstance(value, pl.DataFrame):
        value.__dict__[_TAG] = token
    elif isinstance(value, dict):
        for k, v in value.items():
            tag(v, token + f"[{k!r}]".encode())
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            tag(v, token + f"[{i}]".encode())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            tag(getattr(value, f.name), token + f".{f.name}".encode())


def token_of(key: object) -> bytes | None:
    """A content token for `tag` made of `key` (plain values and containers of them, e.g. a read's
    function, store, version and arguments), or None when the digest cannot take it."""
    try:
        return _digest(key)[0]
    except _NoDigest:
        return None


def clear() -> None:
    """Forget every kept result (tests)."""
    global _weight
    with _lock:
        _kept.clear()
        _weight = 0


def _found(key: tuple[str, bytes]) -> object:
    """The result kept under `key` (now the most recently used), or `_MISSING`."""
    with _lock:
        if key not in _kept:
            return _MISSING
        _kept.move_to_end(key)
        return _kept[key][0]


def _size(value: object) -> int:
    """The estimated size of the frames in `value` (a frame, or a dict, list or tuple of values)."""
    if isinstance(value, pl.DataFrame):
        return int(value.estimated_size())
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_size(v) for v in value)
    return 0


def _keep(key: tuple[str, bytes], result: object, weight: int) -> None:
    global _weight
    with _lock:
        if key in _kept:
            return
        _kept[key] = (result, weight)
        _weight += weight
        while (_weight > BUDGET_BYTES or len(_kept) > MAX_KEPT) and len(_kept) > 1:
            _, (_, dropped) = _kept.popitem(last=False)
            _weight -= dropped


def _digest(value: object) -> tuple[bytes, int]:
    """A digest of `value`'s content and its frames' estimated size (the kept result's weight)."""
    h = hashlib.blake2b(digest_size=20)
    weight = _feed(h, value)
    return h.digest(), weight


def _feed(h, value: object) -> int:
    if isinstance(value, pl.DataFrame | pl.Series) and pl.Object in (
        value.dtypes if isinstance(value, pl.DataFrame) else [value.dtype]
    ):
        raise _NoDigest  # Python objects: Polars hashes them by identity, not by what they hold
    if isinstance(value, pl.DataFrame):
        if (token := value.__dict__.get(_TAG)) is not None:
            h.update(b"T%d(" % len(token) + token + b")")
            return int(value.estimated_size())
        h.update(f"F{value.height}{value.schema!r}(".encode())
        if value.width:
            h.update(_hashes(value.hash_rows))
        h.update(b")")
        return int(value.estimated_size())
    if isinstance(value, pl.Series):
        h.update(f"S{len(value)}{value.name!r}{value.dtype!r}(".encode())
        h.update(_hashes(value.hash))
        h.update(b")")
        return int(value.estimated_size())
    if isinstance(value, _PLAIN):
        h.update(f"{type(value).__qualname__}:{value!r}\x1f".encode())
        return 0
    if isinstance(value, (tuple, list)):
        h.update(f"{type(value).__name__}{len(value)}(".encode())
        weight = sum(_feed(h, item) for item in value)
        h.update(b")")
        return weight
    if isinstance(value, dict):
        h.update(f"dict{len(value)}(".encode())
        weight = sum(_feed(h, k) + _feed(h, v) for k, v in value.items())
        h.update(b")")
        return weight
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        h.update(f"{type(value).__module__}.{type(value).__qualname__}".encode())
        return _feed(h, [getattr(value, f.name) for f in dataclasses.fields(value)])
    raise _NoDigest


def _hashes(hash_method) -> bytes:
    try:
        return hash_method().to_numpy().tobytes()
    except pl.exceptions.PolarsError as exc:  # a dtype Polars does not hash
        raise _NoDigest from exc
