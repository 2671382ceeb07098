"""Codecs defined by a TOML recipe: encode and decode command templates run as separate processes.

A recipe names the programs, their parameter and the file formats they read and write;
pico writes the input (PNG, or planar YUV / Y4M at 4:2:0 or 4:4:4, 8 or 10 bits, BT.709
or BT.601, full or limited range), runs the commands with a timeout, and converts the
decoder's output back to RGB. Templates may use ``{input} {output} {param} {width}
{height} {bit_depth} {recipe_dir}`` and ``{env[NAME]}``. See docs/codecs.md for the keys.
"""

from __future__ import annotations

import io
import os
import shlex
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pico.codecs.base import Codec, check_image
from pico.codecs.process import run_tool
from pico.codecs.yuv import (
    YuvFormat,
    bytes_to_planes,
    planes_to_bytes,
    planes_to_rgb,
    planes_to_y4m,
    rgb_to_planes,
    y4m_to_planes,
)
from pico.errors import BitstreamError, CodecFailed, RecipeError

FORMATS = ("png", "yuv", "y4m")


class ExternalCodec(Codec):
    """A codec whose encoder and decoder are programs described by a TOML recipe."""

    kind = "external"

    def __init__(self, recipe: dict[str, Any], source: Path) -> None:
        self.source = source
        self.recipe = recipe
        where = str(source)
        try:
            self.name = str(recipe["name"])
            self.encode_template = _command(recipe["command"]["encode"])
            self.decode_template = _command(recipe["command"]["decode"])
            low, high = recipe["param_range"]
            self.param_range = (float(low), float(high))
        except (KeyError, TypeError, ValueError) as exc:
            raise RecipeError(
                f"{where}: missing or malformed key {exc}; needs name, param_range = [low, high], [command] encode and decode"
            ) from None
        self.library = str(recipe.get("library", "external programs"))
        self.param_name = str(recipe.get("param_name", "quality"))
        self.param_integer = bool(recipe.get("param_integer", True))
        self.higher_param_more_bits = bool(recipe.get("higher_param_more_bits", True))
        self.extension = str(recipe.get("extension", "bin"))
        self.param_log = bool(recipe.get("param_log", False))
        self.doublings_per_unit = float(recipe["doublings_per_unit"]) if "doublings_per_unit" in recipe else None
        self.param_at_1bpp = float(recipe["param_at_1bpp"]) if "param_at_1bpp" in recipe else None
        self.param_step = float(recipe["param_step"]) if "param_step" in recipe else None
        self.param_log_offset = float(recipe["param_log_offset"]) if "param_log_offset" in recipe else None
        self.timeout_s = float(recipe.get("timeout_s", 600))
        self.requires_env = [str(v) for v in recipe.get("requires_env", [])]
        self.fix = str(recipe.get("fix", "install the programs the recipe names and put them on PATH"))
        self.input_format, self.input_yuv = _io_format(recipe.get("input", {}), where, "input", None)
        self.output_format, self.output_yuv = _io_format(recipe.get("output", {}), where, "output", self.input_yuv)
        self.chroma = str(recipe.get("chroma", self.input_yuv.chroma if self.input_format != "png" else ""))
        if not self.chroma:
            raise RecipeError(
                f"{where}: key 'chroma' is required when the encoder reads PNG (say what it codes, e.g. \"420\")"
            )
        self._version: str | None = None

    def _fill(self, template: list[str], **values: Any) -> list[str]:
        """The command with placeholders filled (no shell: each template item is one argument)."""
        values = {"recipe_dir": str(self.source.parent), "env": os.environ, **values}
        try:
            return [part.format(**values) for part in template]
        except (KeyError, IndexError) as exc:
            raise RecipeError(
                f"{self.source}: unknown placeholder or unset environment variable {exc} in {template}"
            ) from None

    def available(self) -> str | None:
        missing_env = [name for name in self.requires_env if not os.environ.get(name)]
        if missing_env:
            return f"environment variable {', '.join(missing_env)} not set; {self.fix}"
        for template in (self.encode_template, self.decode_template):
            program = self._fill(template[:1], input="", output="", param="", width="", height="", bit_depth="")[0]
            if not (shutil.which(program) or (os.sep in program and os.access(program, os.X_OK))):
                return f"program {program!r} not found on PATH; {self.fix}"
        return None

    def version(self) -> str:
        if self._version is None:
            fixed = self.recipe.get("version")
            if fixed:
                self._version = str(fixed)
            else:
                command = self._fill(_command(self.recipe.get("version_command", self.encode_template[:1])))
                try:
                    done = subprocess.run(command, capture_output=True, timeout=30, check=False)
                except (OSError, subprocess.TimeoutExpired) as exc:
                    raise CodecFailed(f"{self.name}: version command {command} failed ({exc})") from exc
                text = (done.stdout + done.stderr).decode("utf-8", "replace")
                first = next((line.strip() for line in text.splitlines() if line.strip()), "unknown")
                self._version = f"{Path(command[0]).name} {first}"
        return self._version

    def settings(self) -> dict[str, Any]:
        return {
            "chroma": self.chroma,
            "encode": self.encode_template,
            "decode": self.decode_template,
            "input": self.input_format,
            "input_yuv": repr(self.input_yuv),
            "output": self.output_format,
            "output_yuv": repr(self.output_yuv),
        }

    def _param_text(self, param: float) -> str:
        param = self.clamp_param(param)
        return str(int(param)) if self.param_integer else f"{param:.6g}"

    def encode(self, image: np.ndarray, param: float) -> bytes:
        check_image(image)
        self.require_available()
        with tempfile.TemporaryDirectory(prefix=f"pico-{self.name}-") as tmp:
            source = Path(tmp) / f"input.{self.input_format}"
            width, height = self._write_input(image, source)
            target = Path(tmp) / f"bitstream.{self.extension}"
            command = self._fill(
                self.encode_template,
                input=source,
                output=target,
                param=self._param_text(param),
                width=width,
                height=height,
                bit_depth=self.input_yuv.bit_depth,
            )
            run_tool(command, what=f"{self.name} encode", timeout_s=self.timeout_s)
            if not target.is_file() or target.stat().st_size == 0:
                raise CodecFailed(
                    f"{self.name} encode: {command[0]} wrote no bitstream to {{output}}; check the recipe {self.source}"
                )
            return target.read_bytes()

    def _write_input(self, image: np.ndarray, path: Path) -> tuple[int, int]:
        """Write the encoder's input file; returns the (padded) width and height it holds."""
        if self.input_format == "png":
            Image.fromarray(image, "RGB").save(path, compress_level=1)
            return image.shape[1], image.shape[0]
        planes = rgb_to_planes(image, self.input_yuv)
        data = planes_to_y4m(planes, self.input_yuv) if self.input_format == "y4m" else planes_to_bytes(planes)
        path.write_bytes(data)
        return planes[0].shape[1], planes[0].shape[0]

    def decode(self, data: bytes) -> np.ndarray:
        if self.output_format == "yuv":
            raise BitstreamError(
                f"{self.name}: its decoder writes raw YUV without a size; use reconstruct(data, width, height)"
            )
        return self._decode(data, 0, 0)

    def reconstruct(self, data: bytes, width: int, height: int) -> np.ndarray:
        padded_width, padded_height = (
            self.input_yuv.padded_size(width, height) if self.input_format != "png" else (width, height)
        )
        decoded = self._decode(data, padded_width, padded_height)
        if decoded.shape[0] < height or decoded.shape[1] < width:
            raise BitstreamError(
                f"{self.name}: decoded {decoded.shape[1]}x{decoded.shape[0]}, smaller than the reference {width}x{height}"
            )
        return np.ascontiguousarray(decoded[:height, :width])

    def _decode(self, data: bytes, width: int, height: int) -> np.ndarray:
        self.require_available()
        with tempfile.TemporaryDirectory(prefix=f"pico-{self.name}-") as tmp:
            source = Path(tmp) / f"bitstream.{self.extension}"
            source.write_bytes(data)
            target = Path(tmp) / f"decoded.{self.output_format}"
            command = self._fill(
                self.decode_template,
                input=source,
                output=target,
                param="",
                width=width,
                height=height,
                bit_depth=self.output_yuv.bit_depth,
            )
            run_tool(command, what=f"{self.name} decode", timeout_s=self.timeout_s)
            if not target.is_file():
                raise CodecFailed(
                    f"{self.name} decode: {command[0]} wrote nothing to {{output}}; check the recipe {self.source}"
                )
            raw = target.read_bytes()
        if self.output_format == "png":
            try:
                with Image.open(io.BytesIO(raw)) as decoded:
                    return np.asarray(decoded.convert("RGB"))
            except OSError as exc:
                raise BitstreamError(f"{self.name}: decoder output is not an image Pillow reads ({exc})") from exc
        if self.output_format == "y4m":
            planes = y4m_to_planes(raw, self.output_yuv)
        else:
            planes = bytes_to_planes(raw, width, height, self.output_yuv)
        return planes_to_rgb(planes, self.output_yuv)


def _command(value: Any) -> list[str]:
    """A command template given as a list of arguments or one string (split like a shell would)."""
    if isinstance(value, str):
        return shlex.split(value)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError("command")


def _io_format(table: dict[str, Any], where: str, key: str, default: YuvFormat | None) -> tuple[str, YuvFormat]:
    """File format and YUV layout of the [input] or [output] table."""
    fmt = str(table.get("format", "png"))
    if fmt not in FORMATS:
        raise RecipeError(f"{where}: [{key}] format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    base = default or YuvFormat()
    try:
        yuv = YuvFormat(
            chroma=str(table.get("chroma", base.chroma)),
            bit_depth=int(table.get("bit_depth", base.bit_depth)),
            matrix=str(table.get("matrix", base.matrix)),
            full_range=str(table.get("range", "full" if base.full_range else "limited")) == "full",
        )
    except ValueError as exc:
        raise RecipeError(f"{where}: [{key}] {exc}") from None
    if str(table.get("range", "full")) not in ("full", "limited"):
        raise RecipeError(f"{where}: [{key}] range must be 'full' or 'limited'")
    return fmt, yuv


def load_recipe(path: str | os.PathLike) -> ExternalCodec:
    """Read one TOML recipe; raise :class:`RecipeError` naming the file and the problem."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            recipe = tomllib.load(handle)
    except FileNotFoundError:
        raise RecipeError(f"{path}: recipe file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(recipe["command"]) - {"encode", "decode"} if isinstance(recipe.get("command"), dict) else set()
    if unknown:
        raise RecipeError(f"{path}: [command] has unknown keys {sorted(unknown)}; only encode and decode")
    return ExternalCodec(recipe, path)
