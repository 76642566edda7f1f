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
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import threading
from collections import OrderedDict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import polars as pl

BUDGET_BYTES = 96 * 1024 * 1024  # input frames' size of the kept results, the oldest dropped first
MAX_KEPT = 4096  # and at most this many results (those built from plain values only weigh nothing)
_PLAIN = (str, int, float, type(None), date, datetime, time, timedelta, Decimal)  # bool is an int

_TAG = "_cdv_content"  # the attribute holding a frame's content token (see `tag`)

_lock = threading.Lock()
_kept: OrderedDict[tuple[str, bytes], tuple[object, int]] = OrderedDict()  # key → (result, weight)
_weight = 0


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
        with _lock:
            if key in _kept:
                _kept.move_to_end(key)
                return _kept[key][0]
        result = fn(*args, **kwargs)  # outside the lock: two sessions may build it at once, both right
        tag(result, name.encode() + digest)
        _keep(key, result, weight)
        return result

    wrapper.uncached = fn  # type: ignore[attr-defined]
    return wrapper


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
