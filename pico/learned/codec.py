"""Whole images to ``.pico`` bytes and back: tiling, batching, the networks and the range coder."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from pico.errors import BitstreamError
from pico.learned import bitstream, tiling
from pico.learned.bitstream import ChunkReader, ChunkWriter, Header, Tables
from pico.learned.model import PicoModel

BATCH_TILES = 4  # 4 tiles of 512² bound the activations to a few hundred MB per worker


@contextlib.contextmanager
def _single_threaded_ops() -> Iterator[int]:
    """Run every op single-threaded (yielding the previous thread count, used for tile workers).

    Multi-threaded convolutions split their sums differently for different thread counts, which
    moves a rare decoded pixel by one level; one thread per op, and parallelism across tile
    batches instead, makes the pixels independent of the thread setting (on one CPU type).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield before
    finally:
        torch.set_num_threads(before)


# The coder's NumPy copies of a model's frozen tables, made once per model (and dropped with it).
_TABLES: weakref.WeakKeyDictionary[PicoModel, tuple[Tables, Tables]] = weakref.WeakKeyDictionary()


def _tables(model: PicoModel) -> tuple[Tables, Tables]:
    cached = _TABLES.get(model)
    if cached is None:
        st, zp = model.scale_tables, model.z_prior
        if st.pmfs.numel() == 0:
            raise RuntimeError("model has no frozen entropy tables; call model.update() first")
        cached = (
            Tables(st.pmfs.numpy(), st.offsets.numpy(), st.half_widths.numpy()),
            Tables(zp.pmfs.numpy(), zp.offsets.numpy(), zp.half_widths.numpy()),
        )
        _TABLES[model] = cached
    return cached


def _write_z(writer: ChunkWriter, z: np.ndarray, z_tables: Tables) -> None:
    for c in range(z.shape[0]):
        writer.write(z[c].ravel(), z_tables, c)


def _write_y(writer: ChunkWriter, y: np.ndarray, index: np.ndarray, y_tables: Tables) -> None:
    flat_y, flat_i = y.ravel(), index.ravel()
    for s in np.unique(flat_i):
        writer.write(flat_y[flat_i == s], y_tables, int(s))


def _run(batches: list[list[int]], work: Callable[[list[int]], None]) -> None:
    """``work`` on every batch, single-threaded ops, batches spread over the allowed threads."""
    with _single_threaded_ops() as threads:
        if threads <= 1 or len(batches) <= 1:
            for ids in batches:
                work(ids)
        else:
            with ThreadPoolExecutor(max_workers=min(threads, len(batches))) as pool:
                list(pool.map(work, batches))


def encode_image(
    model: PicoModel,
    model_id: str,
    image: np.ndarray,
    level: int,
    core: int = tiling.CORE,
    batch_tiles: int = BATCH_TILES,
) -> bytes:
    """HxWx3 uint8 RGB -> ``.pico`` bytes at quality ``level``."""
    if not 0 <= level < model.cfg.levels:
        raise ValueError(f"quality level {level} outside 0..{model.cfg.levels - 1}")
    h, w = image.shape[:2]
    core = tiling.check_core(core)
    rows, cols = tiling.grid(h, w, core)
    y_tables, z_tables = _tables(model)
    boxes = tiling.boxes(h, w, core)
    all_tiles = list(tiling.tiles(tiling.pad_image(image, boxes), boxes))
    chunks: list[bytes] = [b""] * len(boxes)

    def work(ids: list[int]) -> None:
        batch = np.stack([all_tiles[i] for i in ids])
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 255.0
        sym = model.compress(x, level)
        for i, z, y, idx in zip(ids, sym["z"].numpy(), sym["y"].numpy(), sym["index"].numpy(), strict=True):
            writer = ChunkWriter()
            _write_z(writer, z, z_tables)
            _write_y(writer, y, idx, y_tables)
            chunks[i] = writer.finish()

    _run(tiling.batches(boxes, batch_tiles), work)
    header = Header(model_id, w, h, level, core, tiling.MARGIN, rows, cols)
    return bitstream.pack(header, chunks)


def decode_symbols(
    model: PicoModel, header: Header, chunks: list[bytes], boxes: list[tiling.Box]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Entropy-decode tiles: [(ẑ, ŷ)] as int64 arrays; no floating-point network runs here."""
    y_tables, z_tables = _tables(model)
    out = []
    for chunk, box in zip(chunks, boxes, strict=True):
        zh, zw = box.coded_height // tiling.MULTIPLE, box.coded_width // tiling.MULTIPLE
        reader = ChunkReader(chunk)
        z = np.stack([reader.read(zh * zw, z_tables, c).reshape(zh, zw) for c in range(model.cfg.z_channels)])
        index = model.scale_indices(torch.from_numpy(z)[None], header.level)[0].numpy()
        flat_i = index.ravel()
        flat_y = np.zeros(flat_i.size, dtype=np.int64)
        for s in np.unique(flat_i):
            sel = flat_i == s
            flat_y[sel] = reader.read(int(sel.sum()), y_tables, int(s))
        reader.check_done()
        out.append((z, flat_y.reshape(index.shape)))
    return out


def decode_image(model: PicoModel, model_id: str, data: bytes, batch_tiles: int = BATCH_TILES) -> np.ndarray:
    """``.pico`` bytes -> HxWx3 uint8 RGB; raises BitstreamError for foreign or damaged files."""
    header, chunks = bitstream.unpack(data, expected_model_id=model_id)
    if header.level >= model.cfg.levels:
        raise BitstreamError(f"quality level {header.level} outside 0..{model.cfg.levels - 1}")
    if (header.tile_core + 2 * header.tile_margin) % tiling.MULTIPLE or header.tile_margin != tiling.MARGIN:
        raise BitstreamError(f"tile core {header.tile_core} / margin {header.tile_margin} not supported")
    boxes = tiling.boxes(header.height, header.width, header.tile_core)
    out = np.empty((header.height, header.width, 3), dtype=np.uint8)

    def work(ids: list[int]) -> None:
        decoded = decode_symbols(model, header, [chunks[i] for i in ids], [boxes[i] for i in ids])
        z = torch.from_numpy(np.stack([d[0] for d in decoded]))
        y = torch.from_numpy(np.stack([d[1] for d in decoded]))
        x = model.decompress(z, y, header.level)
        pix = (x * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        for i, tile in zip(ids, pix, strict=True):
            tiling.place(out, tile, boxes[i])

    _run(tiling.batches(boxes, batch_tiles), work)
    return out
