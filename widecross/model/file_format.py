"""The model file: only the nonzero weights, compressed and checksummed; atomic save, safe load.

Byte layout (format version 1; all integers little-endian)::

    offset        size   field
    0             8      magic: 89 57 43 4D 0D 0A 1A 0A  ("\\x89WCM\\r\\n\\x1a\\n", as PNG does:
                         the high byte and CR/LF catch 7-bit and text-mode transfers)
    8             4      format version, uint32 (1)
    12            4      section count S, uint32 (3)
    16            16*S   section table, one entry per section, in file order:
                           +0  4  tag, ASCII: "META", "INDX", "VALS"
                           +4  8  length in bytes, uint64
                           +12 4  CRC-32 (zlib.crc32) of the section's bytes
    16+16*S       4      CRC-32 of bytes [0, 16+16*S): preamble and table
    20+16*S       ...    the sections, back to back; the file ends exactly after the last one

    META  UTF-8 JSON object (sorted keys): library_version, n_features, nnz, intercept, loss,
          classes (2 labels or null), spec (the FeatureSpec's JSON or null), metadata (training
          facts), index_codec ("rice64"), value_encoding ("float32" | "float16" | "q8") and the
          value codec's facts (value_scale_exp for float16, codebook_size for q8).
    INDX  the sorted column ids, gaps Rice-coded in blocks of 64 (see widecross.model._rice): about
          log2(e * width / nnz) bits per id, ~1.1 bytes at 2**24 columns and 1e5 nonzeros.
    VALS  float32: zlib of the 4 byte planes of the float32 weights (lossless, bit-exact);
          float16: zlib of the 2 byte planes of float16(w / 2**value_scale_exp);
          q8: the codebook (codebook_size float32), then zlib of the uint8 codes.

Loading checks, in this order, before allocating anything sized by the header: magic, version
(a newer file gets an error naming both versions), section count, table CRC, that the file size
equals header + sections exactly, each section's CRC, the JSON, and that nnz fits the section
sizes (every id costs at least one bit). Every decoding failure becomes a ``ModelFormatError``
(a ``ValueError``) naming the file and the problem, hostile values behind valid checksums
included (a 400-digit intercept, a nesting too deep). Nothing is ever unpickled.

Memory bound: loading a file of S bytes allocates at most 160 x S bytes plus 2 MiB, whatever it
holds (tested on the worst cases). The worst is the densest index: consecutive ids cost one bit
each in the file (64 ids per 70 bits) but 8 + 4 + 1 bytes each in memory (int64 id, float32
weight, directory), plus the decoder's temporaries: 110 x S measured for q8 values over 2**40
columns. The META section holds at most ``MAX_META_BYTES`` (2 MiB), checked before it is read
and when saving; its JSON becomes Python objects of at most ~40 bytes per byte (nested empty
lists: 35 x measured), so the metadata costs at most ~80 MB, never hundreds.

The model object itself lives in :mod:`widecross.model.sparse`; this module writes any object
with its attributes (``indices``, ``values``, ``intercept``, ``n_features``, ``loss``, ``spec``,
``classes``, ``metadata``) and reads a file back into the checked parts (:class:`Decoded`) that
:func:`widecross.model.load` turns into a :class:`~widecross.model.SparseModel`.

>>> import numpy as np, tempfile, os
>>> from widecross.model import SparseModel, load
>>> m = SparseModel(np.array([3, 70]), np.array([0.5, -1.5]), 0.25, 2**24, "logistic")
>>> path = os.path.join(tempfile.mkdtemp(), "m.wcm")
>>> load(save(m, path)).values.tolist()
[0.5, -1.5]
"""

from __future__ import annotations

import errno
import io
import json
import os
import stat
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Sequence

import numpy as np

from .._atomic_file import write_atomically
from ..losses import LOSSES
from . import _mask, _rice, _values

MAGIC = b"\x89WCM\r\n\x1a\n"
FORMAT_VERSION = 1
INDEX_CODEC = "rice64"
SECTIONS = (b"META", b"INDX", b"VALS")
# Multiclass models (K weight columns over one index set) are version 2, with a class mask
# section: a reader of version 1 alone refuses them ("newer format") instead of misreading them.
MULTICLASS_VERSION = 2
MULTICLASS_SECTIONS = (b"META", b"INDX", b"MASK", b"VALS")
LAYOUTS = {FORMAT_VERSION: SECTIONS, MULTICLASS_VERSION: MULTICLASS_SECTIONS}
_PREAMBLE = struct.Struct("<8sII")
_ENTRY = struct.Struct("<4sQI")
_CRC = struct.Struct("<I")
_MAX_SECTIONS = 64  # bound on the table read before anything is trusted
# The metadata is parsed into Python objects, which cost up to ~40 bytes per byte of JSON
# (nested empty lists); the cap bounds that to ~80 MB. A geo spec takes ~1.3 KB, a Categorical
# vocabulary of 200,000 words ~1.9 MB; larger vocabularies belong in a hashed Categorical.
MAX_META_BYTES = 2 << 20

# Leading bytes of formats people may hand us by mistake, to say what the file looks like.
_FOREIGN = (
    (b"\x89WCK", "a widecross training checkpoint (WideClassifier.load_checkpoint reads it)"),
    (b"PK\x03\x04", "a zip archive (for example a NumPy .npz)"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"\x80", "a Python pickle"),
    (b"\x1f\x8b", "a gzip file"),
    (b"PAR1", "a Parquet file"),
    (b"{", "a JSON document"),
)


class ModelFormatError(ValueError):
    """The file is not a readable widecross model (truncated, corrupted, foreign or newer)."""


def _library_version() -> str:
    from .._version import __version__

    return __version__


# ---------------------------------------------------------------------- writing
def dumps(model: Any, values: str = "float32") -> bytes:
    """The model file's bytes (see the module docstring for the layout)."""
    return b"".join(_encode(model, values))


def save(model: Any, path: str | os.PathLike[str], values: str = "float32") -> Path:
    """Write ``model`` to ``path`` atomically and return the path.

    The bytes go to a temporary file in the same directory, which is flushed, fsynced and then
    renamed over ``path`` (and the directory fsynced), so a crash or error never leaves a partial
    file under ``path``; on error the temporary file is removed and any previous file is intact.
    Only a regular file is ever replaced (a directory or a device under ``path`` is an error);
    temporary files that killed writers left beside ``path`` are removed (see
    ``widecross._atomic_file``).

    ``values``: "float32" (lossless), "float16" (about half the bytes, ~1e-3 relative error per
    weight) or "q8" (about a quarter, 256-level codebook).
    """
    return write_atomic(path, _encode(model, values))  # encoded first: encoding errors leave no trace


def write_atomic(path: str | os.PathLike[str], pieces: Sequence[bytes]) -> Path:
    """Write ``pieces`` to ``path`` atomically (see :func:`save`): model files and checkpoints."""
    return write_atomically(path, lambda f: _write_all(f, pieces))


def _write_all(f: BinaryIO, pieces: Sequence[bytes]) -> None:
    for piece in pieces:
        f.write(piece)


def _encode(model: Any, values: str) -> list[bytes]:
    if values not in _values.ENCODINGS:
        raise ValueError(f"values must be one of {', '.join(map(repr, _values.ENCODINGS))}; got {values!r}")
    spec = None
    if model.spec is not None:
        spec = json.loads(model.spec.to_json())
    index_bytes = _rice.encode(model.indices)
    multiclass = model.values.ndim == 2
    if multiclass:
        nonzero = model.values != 0
        value_bytes, facts = _values.encode(model.values[nonzero], values)
        facts = {**facts, "n_classes": model.n_classes, "n_indices": model.n_indices,
                 "intercepts": model.intercept.tolist()}
        version, tags, extra = MULTICLASS_VERSION, MULTICLASS_SECTIONS, (_mask.encode(nonzero),)
    else:
        value_bytes, facts = _values.encode(model.values, values)
        facts = {**facts, "intercept": model.intercept}
        version, tags, extra = FORMAT_VERSION, SECTIONS, ()
    meta = {
        "library_version": _library_version(),
        "n_features": model.n_features,
        "nnz": model.nnz,
        "loss": model.loss,
        "classes": model.classes,
        "spec": spec,
        "metadata": model.metadata,
        "index_codec": INDEX_CODEC,
        "value_encoding": values,
        **facts,
    }
    meta_bytes = json.dumps(meta, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")
    if len(meta_bytes) > MAX_META_BYTES:
        raise ValueError(
            f"the model's spec and metadata take {len(meta_bytes):,} bytes of JSON, more than the "
            f"{MAX_META_BYTES:,} a model file holds (2 MiB){_largest_vocabularies(model.spec)}; hash large "
            "vocabularies (Categorical(column, n_buckets=...)), learn smaller ones (min_count=, max_size=) "
            "or keep large facts out of metadata"
        )
    return frame(MAGIC, version, tags, (meta_bytes, index_bytes, *extra, value_bytes))


def frame(magic: bytes, version: int, tags: Sequence[bytes], sections: Sequence[bytes]) -> list[bytes]:
    """The container of every widecross file: magic, version, a table of (tag, length, CRC32) per
    section and its own CRC32, then the sections."""
    header = bytearray(_PREAMBLE.pack(magic, version, len(tags)))
    for tag, body in zip(tags, sections):
        header += _ENTRY.pack(tag, len(body), zlib.crc32(body))
    header += _CRC.pack(zlib.crc32(header))
    return [bytes(header), *sections]


# ---------------------------------------------------------------------- reading
@dataclass
class Decoded:
    """A model file's content, every part checked: what a ``SparseModel`` is built from."""

    name: str  # the file's path, or "<bytes>"
    indices: np.ndarray  # strictly increasing ids below n_features, int32 or int64
    values: np.ndarray  # finite nonzero float32
    meta: dict[str, Any]  # the META section (n_features, intercept, loss, classes, metadata, ...)
    spec: Any  # the FeatureSpec, or None
    source: dict[str, Any]  # facts about the file (SparseModel.source)
    mask: np.ndarray | None = None  # multiclass: (n_indices, K), where ``values`` sit (row-major)


def _largest_vocabularies(spec: Any) -> str:
    """Where a spec's bytes are: its largest vocabularies, as words for an error message."""
    if spec is None:
        return ""
    from ..features import largest_vocabularies

    found = largest_vocabularies(spec)
    if not found:
        return ""
    return "; the largest vocabularies: " + ", ".join(f"{name!r} {n:,} values ({size:,} bytes)" for name, n, size in found)


def read_file(path: str | os.PathLike[str]) -> Decoded:
    """Read and check a model file; raises :class:`ModelFormatError` if it is bad.

    Memory is bounded by the file: nothing is allocated from header claims before they are
    checked against the file's actual size and checksums.
    """
    f, size = open_regular(path)
    with f:
        decoded = _read(f, size, str(path))
    decoded.source["path"] = str(path)
    return decoded


def open_regular(path: str | os.PathLike[str]) -> tuple[BinaryIO, int]:
    """The open file and its size; anything but a regular file is refused before reading."""
    # O_NONBLOCK: opening a FIFO (or a device) must not wait forever for a writer; for regular
    # files the flag changes nothing.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        status = os.fstat(fd)
        if stat.S_ISDIR(status.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(status.st_mode):
            raise ModelFormatError(f"{path}: not a regular file, so not a widecross model")
    except BaseException:
        os.close(fd)
        raise
    return open(fd, "rb"), status.st_size


def read_bytes(data: bytes | bytearray | memoryview) -> Decoded:
    """Read and check the bytes of a model file (see :func:`read_file`)."""
    view = memoryview(data)
    return _read(io.BytesIO(view), view.nbytes, "<bytes>")


Fail = Callable[[str], ModelFormatError]


def _read(f: BinaryIO, size: int, name: str) -> Decoded:
    def fail(message: str) -> ModelFormatError:
        return ModelFormatError(f"{name}: {message}")

    version, entries = _read_header(f, size, fail)
    (_, meta_len, meta_crc), (_, index_len, index_crc), *masks, (_, values_len, values_crc) = entries
    meta = _parse_meta(_read_section(f, meta_len, meta_crc, "META", fail), fail, version)
    nnz, n_features = meta["nnz"], meta["n_features"]
    n_indices = meta["n_indices"] if masks else nnz
    # Every id costs at least one bit, every value at least a 1/1032 of a byte (zlib's limit):
    # a header claiming more nonzeros than the file can hold is rejected before allocating.
    if n_indices > 8 * index_len:
        what = "indices" if masks else "nonzeros"
        raise fail(f"the header claims {n_indices} {what} but the index section ({index_len} bytes) holds at most "
                   f"{8 * index_len}")
    if masks and not _mask.possible(masks[0][1], n_indices, meta["n_classes"]):
        raise fail(f"the header claims {n_indices} x {meta['n_classes']} weights but the class mask section has only "
                   f"{masks[0][1]} bytes")
    value_width = _values.value_bytes(meta["value_encoding"])
    if nnz * value_width > _values.ZLIB_MAX_RATIO * values_len + 64:
        raise fail(f"the header claims {nnz} nonzeros but the values section has only {values_len} bytes")

    index_bytes = _read_section(f, index_len, index_crc, "INDX", fail)
    index_dtype = np.int32 if n_features <= 2**31 else np.int64
    try:
        indices = _rice.decode(np.frombuffer(index_bytes, dtype=np.uint8), n_indices, n_features, index_dtype)
    except ValueError as exc:
        raise fail(str(exc)) from None
    del index_bytes
    mask = None
    if masks:
        (_, mask_len, mask_crc), = masks
        try:
            mask = _mask.decode(_read_section(f, mask_len, mask_crc, "MASK", fail), n_indices, meta["n_classes"], nnz)
        except ValueError as exc:
            raise fail(str(exc)) from None

    values_bytes = _read_section(f, values_len, values_crc, "VALS", fail)
    try:
        values = _values.decode(values_bytes, nnz, meta["value_encoding"], meta)
    except (ValueError, TypeError, OverflowError, MemoryError) as exc:
        raise fail(f"bad values section: {exc}") from None
    del values_bytes
    source = {
        "path": None,
        "file_bytes": size,
        "format_version": version,
        "value_encoding": meta["value_encoding"],
        "index_codec": meta["index_codec"],
        "library_version": meta["library_version"],
    }
    return Decoded(name, indices, values, meta, _read_spec(meta, fail), source, mask)


def _read_header(f: BinaryIO, size: int, fail: Fail, magic: bytes = MAGIC,
                 layouts: dict[int, tuple[bytes, ...]] = LAYOUTS) -> tuple[int, list[tuple[bytes, int, int]]]:
    """Check magic, version, the section table and its CRC, and that the sizes add up to the file's."""
    if size == 0:
        raise fail("the file is empty (0 bytes), not a widecross model")
    head = _read_exact(f, min(size, _PREAMBLE.size))
    if len(head) < len(magic) and magic.startswith(head):
        raise fail(f"truncated: {size} bytes, shorter than the {_PREAMBLE.size}-byte preamble")
    if head[: len(magic)] != magic:
        raise fail(_not_a_model(head))
    if size < _PREAMBLE.size:
        raise fail(f"truncated: {size} bytes, shorter than the {_PREAMBLE.size}-byte preamble")
    _, version, count = _PREAMBLE.unpack(head)
    newest = max(layouts)
    if version > newest:
        raise fail(
            f"format version {version} is newer than this widecross ({_library_version()}) "
            f"can read (up to version {newest}); upgrade widecross"
        )
    if version not in layouts:
        raise fail(f"unsupported format version {version} (this widecross reads versions {sorted(layouts)})")
    expected_tags = layouts[version]
    if count != len(expected_tags):
        bound = f"expected {len(expected_tags)}" if count <= _MAX_SECTIONS else "corrupted"
        raise fail(f"the header lists {count} sections ({bound})")
    header_size = _PREAMBLE.size + _ENTRY.size * count + _CRC.size
    if size < header_size:
        raise fail(f"truncated: {size} bytes, shorter than the {header_size}-byte header")
    table = _read_exact(f, header_size - _PREAMBLE.size)
    (table_crc,) = _CRC.unpack(table[-_CRC.size :])
    if zlib.crc32(head + table[: -_CRC.size]) != table_crc:
        raise fail("the header checksum does not match (corrupted header)")
    entries = [_ENTRY.unpack_from(table, i * _ENTRY.size) for i in range(count)]
    tags = tuple(tag for tag, _, _ in entries)
    if tags != expected_tags:
        raise fail(f"unexpected sections {tags}, expected {expected_tags}")
    expected_size = header_size + sum(length for _, length, _ in entries)
    if expected_size != size:
        state = "truncated" if size < expected_size else "has trailing bytes"
        raise fail(f"{state}: the header describes {expected_size} bytes but the file has {size}")
    if entries[0][1] > MAX_META_BYTES:
        raise fail(f"the metadata section is {entries[0][1]:,} bytes, more than the {MAX_META_BYTES:,} allowed")
    return version, entries


def _read_spec(meta: dict[str, Any], fail: Fail) -> Any:
    if meta["spec"] is None:
        return None
    spec_json = json.dumps(meta.pop("spec"))  # frees the parsed tree before it is parsed again
    try:
        from ..features import FeatureSpec

        return FeatureSpec.from_json(spec_json)
    except Exception as exc:  # any failure to rebuild the spec means the file is unusable
        raise fail(f"the stored feature spec cannot be read: {type(exc).__name__}: {exc}") from None


read_header = _read_header  # the container's checks, for the other kinds of widecross file


def read_section(f: BinaryIO, length: int, crc: int, tag: str, fail: Fail) -> memoryview:
    """One section's bytes, its CRC checked."""
    return _read_section(f, length, crc, tag, fail)


def _read_exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:  # the file shrank under us
        raise ModelFormatError(f"could read only {len(data)} of {n} bytes")
    return data


def _read_section(f: BinaryIO, length: int, crc: int, tag: str, fail: Fail) -> memoryview:
    buf = bytearray(length)
    got = f.readinto(buf)
    if got != length:
        raise fail(f"the {tag} section could be read only partly ({got} of {length} bytes)")
    if zlib.crc32(buf) != crc:
        raise fail(f"the {tag} section's checksum does not match (corrupted data)")
    return memoryview(buf)


_META_TYPES: dict[str, tuple[type, ...]] = {
    "library_version": (str,),
    "n_features": (int,),
    "nnz": (int,),
    "loss": (str,),
    "classes": (list, type(None)),
    "spec": (dict, type(None)),
    "metadata": (dict,),
    "index_codec": (str,),
    "value_encoding": (str,),
}


# the keys of one format version only: one intercept, or the multiclass facts
_VERSION_META_TYPES: dict[int, dict[str, tuple[type, ...]]] = {
    FORMAT_VERSION: {"intercept": (int, float)},
    MULTICLASS_VERSION: {"n_classes": (int,), "n_indices": (int,), "intercepts": (list,)},
}
_MAX_CLASSES = 1 << 16


def _parse_meta(data: memoryview, fail: Fail, version: int = FORMAT_VERSION) -> dict[str, Any]:
    try:
        meta = json.loads(bytes(data).decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # also integers past int_max_str_digits
        raise fail(f"the metadata is not valid UTF-8 JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise fail(f"the metadata is a JSON {type(meta).__name__}, expected an object")
    for key, types in {**_META_TYPES, **_VERSION_META_TYPES[version]}.items():
        if key not in meta:
            raise fail(f"the metadata lacks {key!r}")
        value = meta[key]
        if not isinstance(value, types) or isinstance(value, bool):
            raise fail(f"metadata {key!r} has the wrong type ({type(value).__name__}): {value!r:.80}")
    for intercept in meta["intercepts"] if version == MULTICLASS_VERSION else [meta["intercept"]]:
        if isinstance(intercept, bool) or not isinstance(intercept, (int, float)):
            raise fail(f"an intercept is not a number: {intercept!r:.80}")
        try:  # a JSON integer of 400 digits is valid JSON, and no float (finiteness: see SparseModel)
            float(intercept)
        except OverflowError:
            raise fail(f"the intercept is a {len(str(abs(intercept)))}-digit integer, beyond any float") from None
    if not 1 <= meta["n_features"] <= 2**63 - 1:
        raise fail(f"n_features {meta['n_features']} is out of range")
    if version == MULTICLASS_VERSION:
        _check_classes_meta(meta, fail)
    elif not 0 <= meta["nnz"] <= meta["n_features"]:
        raise fail(f"nnz {meta['nnz']} is out of range for n_features {meta['n_features']}")
    if meta["loss"] not in LOSSES:
        raise fail(f"unknown loss {meta['loss']!r} (known: {', '.join(sorted(LOSSES))})")
    if meta["index_codec"] != INDEX_CODEC:
        raise fail(f"unknown index codec {meta['index_codec']!r} (this widecross reads {INDEX_CODEC!r})")
    if meta["value_encoding"] not in _values.ENCODINGS:
        raise fail(f"unknown value encoding {meta['value_encoding']!r} (known: {', '.join(_values.ENCODINGS)})")
    return meta


def _check_classes_meta(meta: dict[str, Any], fail: Fail) -> None:
    k, n_indices, nnz = meta["n_classes"], meta["n_indices"], meta["nnz"]
    if not 3 <= k <= _MAX_CLASSES:
        raise fail(f"n_classes {k} is out of range (3 to {_MAX_CLASSES})")
    if not 0 <= n_indices <= meta["n_features"]:
        raise fail(f"n_indices {n_indices} is out of range for n_features {meta['n_features']}")
    if not n_indices <= nnz <= n_indices * k:
        raise fail(f"nnz {nnz} is out of range for {n_indices} indices of {k} classes")
    if len(meta["intercepts"]) != k:
        raise fail(f"{len(meta['intercepts'])} intercepts for {k} classes")


def _not_a_model(head: bytes) -> str:
    for prefix, what in _FOREIGN:
        if head.startswith(prefix):
            return f"not a widecross model file: it looks like {what}"
    if head[:4] == MAGIC[:4]:
        return "not a widecross model file: the magic bytes are damaged (text-mode transfer?)"
    return f"not a widecross model file (it starts with {bytes(head[:8])!r})"
