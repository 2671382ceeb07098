"""The ``.pico`` file: a versioned container around range-coded tiles.

Layout (little endian)::

    magic "PICO" | u8 format version | u8 n | model id (n bytes, ASCII)
    u32 width | u32 height | u8 quality level | u16 tile core | u8 tile margin | u16 rows | u16 cols
    u32 CRC-32 of everything before it and of the payload
    payload: rows x cols chunks, each  u32 nbytes | u32 nwords | range-coder words (u32) | escapes

A chunk holds one tile's symbols in one ``constriction`` range-coder (queue) stream: first the
hyper-latent ẑ channel by channel, then the latents ŷ grouped by scale index (ascending), each
group in raster order. Symbols at or beyond a table's half-width K are coded as the edge symbol
and their excess follows in ``escapes`` as LEB128 varints, in coding order.

Determinism rules: (1) every probability the coder uses comes from the integer PMF tables stored
in the weights (``entropy.py``); (2) the scale index of every latent comes from the integer scale
decoder, so it is bit-identical in encoder and decoder on any machine, batch size or thread
count; (3) the decoder reads all symbols of a tile before any floating-point network runs, so
floating-point differences can move reconstructed pixels slightly but never desynchronise the
stream. A decoder with another model id or format version refuses the file.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from functools import cache

import constriction
import numpy as np

from pico.errors import BitstreamError

MAGIC = b"PICO"
FORMAT_VERSION = 2  # 2: border tiles without margins, edge tiles shrunk to fit
MAX_SIDE = 1 << 16
_HEAD = struct.Struct("<IIBHBHH")


@dataclass(frozen=True)
class Header:
    """Everything a decoder needs besides the chunks."""

    model_id: str
    width: int
    height: int
    level: int
    tile_core: int
    tile_margin: int
    rows: int
    cols: int


def pack(header: Header, chunks: list[bytes]) -> bytes:
    """Serialize the header and the tile chunks into one file."""
    mid = header.model_id.encode("ascii")
    if len(mid) > 255:
        raise ValueError("model id longer than 255 bytes")
    head = MAGIC + bytes([FORMAT_VERSION, len(mid)]) + mid
    head += _HEAD.pack(
        header.width, header.height, header.level, header.tile_core, header.tile_margin, header.rows, header.cols
    )
    payload = b"".join(struct.pack("<I", len(c)) + c for c in chunks)
    crc = zlib.crc32(payload, zlib.crc32(head))
    return head + struct.pack("<I", crc) + payload


def unpack(data: bytes, expected_model_id: str | None = None) -> tuple[Header, list[bytes]]:
    """Parse and check a file; raises BitstreamError naming what is wrong."""
    if len(data) < 6 or data[:4] != MAGIC:
        raise BitstreamError("not a .pico bitstream (bad magic); was it written by the pico codec?")
    if data[4] != FORMAT_VERSION:
        raise BitstreamError(
            f"bitstream format version {data[4]}, this decoder reads version {FORMAT_VERSION}; decode it with the pico release that wrote it"
        )
    n = data[5]
    at = 6 + n
    if len(data) < at + _HEAD.size + 4:
        raise BitstreamError("truncated bitstream: header incomplete")
    model_id = data[6:at].decode("ascii", errors="replace")
    if expected_model_id is not None and model_id != expected_model_id:
        raise BitstreamError(
            f"bitstream written by model {model_id!r}, but the loaded weights are {expected_model_id!r}; decode with those weights"
        )
    fields = _HEAD.unpack_from(data, at)
    header = Header(model_id, *fields)
    at += _HEAD.size
    (crc,) = struct.unpack_from("<I", data, at)
    payload = data[at + 4 :]
    if zlib.crc32(payload, zlib.crc32(data[:at])) != crc:
        raise BitstreamError("corrupt or truncated bitstream: CRC-32 mismatch")
    if (
        not 0 < header.width <= MAX_SIDE
        or not 0 < header.height <= MAX_SIDE
        or header.tile_core <= 0
        or header.rows != -(-header.height // header.tile_core)
        or header.cols != -(-header.width // header.tile_core)
    ):
        raise BitstreamError(
            f"inconsistent header: {header.rows}x{header.cols} tiles of {header.tile_core} px for {header.width}x{header.height}"
        )
    chunks, pos = [], 0
    for _ in range(header.rows * header.cols):
        if pos + 4 > len(payload):
            raise BitstreamError("truncated bitstream: missing tile chunks")
        (size,) = struct.unpack_from("<I", payload, pos)
        chunks.append(payload[pos + 4 : pos + 4 + size])
        pos += 4 + size
    if pos != len(payload) or any(len(c) < 4 for c in chunks):
        raise BitstreamError("corrupt bitstream: chunk sizes do not add up")
    return header, chunks


def _varints(values: list[int]) -> bytes:
    out = bytearray()
    for v in values:
        while True:
            byte = v & 0x7F
            v >>= 7
            out.append(byte | (0x80 if v else 0))
            if not v:
                break
    return bytes(out)


class _EscapeReader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self) -> int:
        value, shift = 0, 0
        while True:
            if self.pos >= len(self.data) or shift > 35:
                raise BitstreamError("corrupt bitstream: escape values run past the chunk")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value


@dataclass(frozen=True)
class Tables:
    """Integer PMFs (concatenated), their offsets and half-widths, as stored in the weights."""

    pmfs: np.ndarray
    offsets: np.ndarray
    half_widths: np.ndarray

    @cache  # noqa: B019 - a handful of Tables objects live per process
    def model(self, i: int) -> constriction.stream.model.Categorical:
        """The coder's model for table ``i``; probabilities are exact integers / 2**16."""
        k = int(self.half_widths[i])
        start = int(self.offsets[i])
        pmf = self.pmfs[start : start + 2 * k + 1].astype(np.float64)
        return constriction.stream.model.Categorical(pmf, perfect=False)

    def __hash__(self) -> int:
        return id(self)


class ChunkWriter:
    """Range-codes one tile's symbols group by group."""

    def __init__(self) -> None:
        self.encoder = constriction.stream.queue.RangeEncoder()
        self.escapes: list[int] = []

    def write(self, values: np.ndarray, tables: Tables, i: int) -> None:
        """Code the int array ``values`` with table ``i``."""
        if values.size == 0:
            return
        k = int(tables.half_widths[i])
        clipped = np.clip(values, -k, k)
        edge = np.abs(values) >= k
        if edge.any():
            self.escapes.extend((np.abs(values[edge]) - k).tolist())
        self.encoder.encode((clipped + k).astype(np.int32), tables.model(i))

    def finish(self) -> bytes:
        """The chunk bytes."""
        words = self.encoder.get_compressed()
        return struct.pack("<I", words.size) + words.astype("<u4").tobytes() + _varints(self.escapes)


class ChunkReader:
    """Reads back what :class:`ChunkWriter` wrote, in the same order."""

    def __init__(self, chunk: bytes) -> None:
        (nwords,) = struct.unpack_from("<I", chunk, 0)
        end = 4 + 4 * nwords
        if end > len(chunk):
            raise BitstreamError("truncated bitstream: tile chunk shorter than its word count")
        words = np.frombuffer(chunk[4:end], dtype="<u4").astype(np.uint32)
        self.decoder = constriction.stream.queue.RangeDecoder(words)
        self.escapes = _EscapeReader(chunk[end:])

    def read(self, count: int, tables: Tables, i: int) -> np.ndarray:
        """Decode ``count`` values coded with table ``i``."""
        if count == 0:
            return np.zeros(0, dtype=np.int64)
        k = int(tables.half_widths[i])
        try:
            sym = self.decoder.decode(tables.model(i), count).astype(np.int64) - k
        except Exception as exc:  # constriction raises on words that no encoder can produce
            raise BitstreamError(f"corrupt bitstream: range decoder failed ({exc})") from exc
        for j in np.flatnonzero(np.abs(sym) >= k):
            sym[j] += int(np.sign(sym[j])) * self.escapes.read()
        return sym

    def check_done(self) -> None:
        """Every escape must have been consumed, else the chunk is corrupt."""
        if self.escapes.pos != len(self.escapes.data):
            raise BitstreamError("corrupt bitstream: unused bytes at the end of a tile chunk")
