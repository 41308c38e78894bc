"""Index and Multi-Index instances: Alice's bits, and the bits Bob is asked for.

Purpose: docs/theorem.md#reduction. Alice holds x in {0,1}^N with N = L*d, viewed as an
L x d bit matrix X (row i = the values of cached token i). In Index Bob wants one bit;
in Multi-Index up to T of them (flat indices into x). Instances come from an explicit
numpy ``Generator`` and are saved as ``.npz`` without pickle: a format tag, a version,
the shapes and a SHA-256 checksum are validated on load.

References: Kremer, Nisan & Ron (1999) (Index); arXiv 2503.14881, arXiv 2502.15955.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lowerbound.validation import InvalidArgument, check_int_at_least

__all__ = ["IndexInstance", "make_instance", "save_instance", "load_instance", "FORMAT_TAG"]

FORMAT_TAG = "kvbound-instance"
FORMAT_VERSION = 2  # version 1 (binary values only) is still read
MAX_BITS_PER_VALUE = 16


@dataclass(frozen=True, eq=False)
class IndexInstance:
    """Alice's symbol matrix X (L x d) and Bob's flat query indices.

    With ``bits_per_value`` b = 1 (the default) X is a bit matrix in {0, 1}; with b > 1
    each entry is a symbol m in {0, ..., 2^b - 1} (the precision construction,
    docs/theorem.md#prec), carrying b bits. ``queries`` is None for "every symbol" (Bob
    reads all of X, pass by pass), else a sorted array of distinct flat indices into
    ``bits.ravel()`` (Multi-Index).
    """

    bits: np.ndarray
    queries: np.ndarray | None = None
    bits_per_value: int = 1

    def __post_init__(self) -> None:
        b = check_int_at_least(self.bits_per_value, "bits_per_value", 1)
        if b > MAX_BITS_PER_VALUE:
            raise InvalidArgument(f"bits_per_value={b} exceeds {MAX_BITS_PER_VALUE}")
        bits = np.asarray(self.bits)
        if bits.ndim != 2 or bits.shape[0] < 1 or bits.shape[1] < 1:
            raise InvalidArgument(f"bits must be a non-empty L x d matrix, got shape {bits.shape}")
        if b == 1 and not np.isin(bits, (0, 1)).all():
            raise InvalidArgument("bits must hold only 0 and 1")
        if b > 1 and (not np.issubdtype(bits.dtype, np.integer) or bits.min() < 0
                      or bits.max() >= 2**b):
            raise InvalidArgument(f"symbols must be integers in [0, 2^{b}) for bits_per_value={b}")
        dtype = np.uint8 if b <= 8 else np.uint16
        object.__setattr__(self, "bits", bits.astype(dtype, copy=False))
        if self.queries is not None:
            q = np.asarray(self.queries)
            if q.ndim != 1 or q.size == 0 or not np.issubdtype(q.dtype, np.integer):
                raise InvalidArgument(
                    "queries must be a non-empty 1-D integer array of flat indices")
            if q.min() < 0 or q.max() >= bits.size:
                raise InvalidArgument(f"queries must lie in [0, N) with N={bits.size}")
            if np.unique(q).size != q.size:
                raise InvalidArgument("queries must be distinct")
            object.__setattr__(self, "queries", np.sort(q).astype(np.int64))

    @property
    def cached_tokens(self) -> int:
        """L, the number of cached tokens (rows of X)."""
        return int(self.bits.shape[0])

    @property
    def d(self) -> int:
        """d, the value dimension (columns of X)."""
        return int(self.bits.shape[1])

    @property
    def n_symbols(self) -> int:
        """L * d value coordinates (each carries ``bits_per_value`` bits)."""
        return int(self.bits.size)

    @property
    def n_bits(self) -> int:
        """N = L * d * b: Alice's bits (b = 1: N = L * d)."""
        return int(self.bits.size) * self.bits_per_value

    def query_tokens(self) -> np.ndarray:
        """The distinct token rows Bob must read (all rows for plain "every bit")."""
        if self.queries is None:
            return np.arange(self.cached_tokens)
        return np.unique(self.queries // self.d)

    def checksum(self) -> str:
        """SHA-256 of the canonical bytes (shape, bits, queries)."""
        h = hashlib.sha256()
        h.update(np.asarray(self.bits.shape, dtype="<i8").tobytes())
        if self.bits_per_value == 1:
            h.update(np.ascontiguousarray(self.bits, dtype=np.uint8).tobytes())
        else:
            h.update(np.asarray([self.bits_per_value], dtype="<i8").tobytes())
            h.update(np.ascontiguousarray(self.bits, dtype="<u2").tobytes())
        if self.queries is not None:
            h.update(np.asarray(self.queries, dtype="<i8").tobytes())
        return h.hexdigest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IndexInstance):
            return NotImplemented
        return self.checksum() == other.checksum()

    def __hash__(self) -> int:
        return hash(self.checksum())


def make_instance(
    cached_tokens: int,
    d: int,
    rng: np.random.Generator | int | None = None,
    *,
    num_queries: int | None = None,
    bits_per_value: int = 1,
) -> IndexInstance:
    """Uniform X in {0,1}^{L x d} (or uniform symbols in [0, 2^b)^{L x d}); with
    ``num_queries`` also a Multi-Index query set.

    >>> inst = make_instance(3, 4, rng=0)
    >>> inst.bits.shape, inst.n_bits
    ((3, 4), 12)
    >>> make_instance(3, 4, rng=0) == inst
    True
    """
    rng = np.random.default_rng(rng)
    n_keys = check_int_at_least(cached_tokens, "L", 1)
    dim = check_int_at_least(d, "d", 1)
    b = check_int_at_least(bits_per_value, "bits_per_value", 1)
    if b == 1:
        bits = rng.integers(0, 2, size=(n_keys, dim), dtype=np.uint8)
    else:
        bits = rng.integers(0, 2**min(b, MAX_BITS_PER_VALUE), size=(n_keys, dim),
                            dtype=np.uint16)
    queries = None
    if num_queries is not None:
        t = check_int_at_least(num_queries, "num_queries", 1)
        if t > bits.size:
            raise InvalidArgument(f"num_queries={t} exceeds N={bits.size} bits")
        queries = rng.choice(bits.size, size=t, replace=False)
    return IndexInstance(bits, queries, b)


def _bit_planes(symbols: np.ndarray, b: int) -> np.ndarray:
    """The b bits of every symbol, most significant first, flattened."""
    flat = symbols.ravel().astype(np.uint16)
    shifts = np.arange(b - 1, -1, -1, dtype=np.uint16)
    return ((flat[:, None] >> shifts) & 1).astype(np.uint8).ravel()


def save_instance(path: str | Path, instance: IndexInstance) -> None:
    """Write ``instance`` as ``.npz`` (bits packed, checksum included, no pickled objects)."""
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT_TAG),
        "version": np.array(FORMAT_VERSION, dtype=np.int64),
        "shape": np.array(instance.bits.shape, dtype=np.int64),
        "bits_per_value": np.array(instance.bits_per_value, dtype=np.int64),
        "packed_bits": np.packbits(_bit_planes(instance.bits, instance.bits_per_value)),
        "has_queries": np.array(instance.queries is not None),
        "queries": (
            np.asarray(instance.queries, dtype=np.int64)
            if instance.queries is not None
            else np.zeros(0, dtype=np.int64)
        ),
        "sha256": np.array(instance.checksum()),
    }
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]


_MAX_NPY_HEADER = 1024  # bytes of a member's .npy header (ours are ~128)
MAX_INSTANCE_FILE_BYTES = 1 << 32  # the file itself, read whole before any check
_SCALARS = {"format": "U", "version": "i", "bits_per_value": "i", "has_queries": "b",
            "sha256": "U"}
_MEMBERS = set(_SCALARS) | {"shape", "packed_bits", "queries"}


def _member(archive: zipfile.ZipFile, name: str, kind: str, max_items: int,
            path: str | Path) -> np.ndarray:
    """Member ``name``.npy of the archive, its header checked before its data is read:
    dtype kind ``kind`` (itemsize <= 256), at most ``max_items`` items, never more bytes
    than that."""
    from numpy.lib import format as npy

    try:
        with archive.open(f"{name}.npy") as fh:
            version = npy.read_magic(fh)
            reader = (npy.read_array_header_1_0 if version == (1, 0)
                      else npy.read_array_header_2_0)
            shape, fortran, dtype = reader(fh, max_header_size=_MAX_NPY_HEADER)
            count = int(np.prod(shape, dtype=object)) if shape else 1
            if dtype.kind != kind or dtype.hasobject or dtype.itemsize > 256 or fortran \
                    or count > max_items:
                raise InvalidArgument(f"{path}: field {name!r} is {dtype} of shape {shape}, "
                                      f"not at most {max_items} items of kind {kind!r}")
            raw = fh.read(count * dtype.itemsize)
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, InvalidArgument):
            raise
        raise InvalidArgument(f"{path}: field {name!r} is unreadable ({exc})") from None
    if len(raw) != count * dtype.itemsize:
        raise InvalidArgument(f"{path}: field {name!r} is truncated")
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def load_instance(path: str | Path) -> IndexInstance:
    """Read an instance written by :func:`save_instance`, validating everything.

    Every size is checked before it is allocated: the file (a regular file of at most
    MAX_INSTANCE_FILE_BYTES), the names of its members, each member's ``.npy`` header
    (dtype and shape), and the bit count against the memory unpacking it needs.
    Raises ValueError (naming the file and the problem) on any corrupt or foreign file.
    """
    from reduction.isolation.resources import MEMORY_FRACTION, physical_memory_bytes

    file = Path(path)
    try:
        if not file.is_file():
            raise InvalidArgument(f"instance file {path} is not a regular file")
        size = file.stat().st_size
        if size > MAX_INSTANCE_FILE_BYTES:
            raise InvalidArgument(f"instance file {path} has {size} bytes, more than "
                                  f"{MAX_INSTANCE_FILE_BYTES}")
        raw = file.read_bytes()
    except OSError as exc:
        raise InvalidArgument(f"cannot read instance file {path}: {exc.strerror}") from None
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        names = {n[:-4] for n in archive.namelist() if n.endswith(".npy")}
        if len(names) != len(archive.namelist()) or not names <= _MEMBERS:
            raise InvalidArgument(f"{path} holds members {sorted(archive.namelist())}; a "
                                  f"kvbound instance holds {sorted(_MEMBERS)}")
    except zipfile.BadZipFile as exc:
        raise InvalidArgument(f"{path} is not a valid kvbound instance file ({exc})") from None
    fields = {k: _member(archive, k, kind, 1, path) for k, kind in _SCALARS.items()
              if k in names}
    if "shape" in names:
        fields["shape"] = _member(archive, "shape", "i", 2, path)
    shape = fields.get("shape")
    per_value = int(fields["bits_per_value"]) if "bits_per_value" in fields else 1
    if shape is not None and shape.shape == (2,) and (shape >= 1).all() \
            and 1 <= per_value <= MAX_BITS_PER_VALUE:
        total = int(shape[0]) * int(shape[1]) * per_value
        memory = physical_memory_bytes()
        if memory is not None and 4 * total > MEMORY_FRACTION * memory:
            raise InvalidArgument(f"{path}: shape {tuple(int(x) for x in shape)} holds "
                                  f"{total} bits; unpacking them needs more memory than this "
                                  "machine has")
        if "packed_bits" in names:
            fields["packed_bits"] = _member(archive, "packed_bits", "u", (total + 7) // 8,
                                            path)
        if "queries" in names:
            fields["queries"] = _member(archive, "queries", "i", total, path)
    need = {"format", "version", "shape", "packed_bits", "has_queries", "queries", "sha256"}
    missing = need - fields.keys()
    if missing:
        raise InvalidArgument(f"{path} is missing fields {sorted(missing)}; not a kvbound instance")
    if str(fields["format"]) != FORMAT_TAG:
        raise InvalidArgument(
            f"{path} has format {str(fields['format'])!r}, expected {FORMAT_TAG!r}")
    version = int(fields["version"])
    if version not in (1, FORMAT_VERSION):
        raise InvalidArgument(
            f"{path} has format version {version}; this kvbound reads versions 1 and "
            f"{FORMAT_VERSION}"
        )
    b = 1
    if version >= 2:
        if "bits_per_value" not in fields or fields["bits_per_value"].shape != ():
            raise InvalidArgument(f"{path} lacks a scalar bits_per_value field")
        b = int(fields["bits_per_value"])
        if not 1 <= b <= MAX_BITS_PER_VALUE:
            raise InvalidArgument(
                f"{path}: bits_per_value={b} must lie in [1, {MAX_BITS_PER_VALUE}]")
    shape = fields["shape"]
    if shape.shape != (2,) or not np.issubdtype(shape.dtype, np.integer) or (shape < 1).any():
        raise InvalidArgument(f"{path} has an invalid shape field {shape!r}")
    if int(shape[0]) * int(shape[1]) > (1 << 34):
        raise InvalidArgument(f"{path}: shape {tuple(shape)} is implausibly large")
    n_bits = int(shape[0]) * int(shape[1]) * b
    packed = fields["packed_bits"]
    if packed.dtype != np.uint8 or packed.ndim != 1 or packed.size != (n_bits + 7) // 8:
        raise InvalidArgument(f"{path}: packed_bits has the wrong size for shape {tuple(shape)}")
    planes = np.unpackbits(packed, count=n_bits).reshape(-1, b).astype(np.uint16)
    weights = (1 << np.arange(b - 1, -1, -1)).astype(np.uint16)
    bits = (planes @ weights).astype(np.uint16).reshape(int(shape[0]), int(shape[1]))
    queries = fields["queries"] if bool(fields["has_queries"]) else None
    if queries is not None and (queries.dtype != np.int64 or queries.ndim != 1):
        raise InvalidArgument(f"{path}: queries must be a 1-D int64 array")
    try:
        instance = IndexInstance(bits, queries, b)
    except ValueError as exc:
        raise InvalidArgument(f"{path}: {exc}") from None
    if instance.checksum() != str(fields["sha256"]):
        raise InvalidArgument(f"{path}: checksum mismatch; the file is corrupt")
    return instance
