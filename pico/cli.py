"""``python -m pico``: codecs | ladder | import | metrics. The only place pico errors become exit codes."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from pico.errors import PicoError

EXIT_USAGE = 2
EXIT_ERROR = 1


def _floats(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values or any(not v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive bpp values, got {text!r}")
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"a target bpp appears twice in {text!r}")
    return sorted(values)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pico", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log conversions and per-task details")
    commands = parser.add_subparsers(dest="command", required=True)

    codecs = commands.add_parser("codecs", help="list every codec: name, kind, version, available or why not")
    codecs.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")

    ladder = commands.add_parser("ladder", help="reconstructions of IMAGES by CODECS at target bitrates")
    ladder.add_argument("images", nargs="+", help="image files or folders of them")
    ladder.add_argument("--codecs", required=True, help="comma-separated registry names (see `codecs`)")
    ladder.add_argument("--bpp", type=_floats, help="comma-separated target bits per pixel")
    ladder.add_argument(
        "--match", metavar="MANIFEST:CODEC", help="matched mode: per image, target the bpp CODEC achieved in MANIFEST"
    )
    ladder.add_argument("--out", required=True, type=Path, help="output folder (manifest.csv, PNGs, cache)")
    ladder.add_argument(
        "--recipe", action="append", default=[], type=Path, help="TOML recipe of an external codec (repeatable)"
    )
    ladder.add_argument("--tolerance", type=float, default=0.02, help="relative bpp tolerance (default 0.02)")
    ladder.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    ladder.add_argument("--dask", metavar="ADDR", help="run on the Dask scheduler at ADDR (e.g. tcp://host:8786)")
    ladder.add_argument("--bitstreams", action="store_true", help="also write each bitstream beside its PNG")

    importer = commands.add_parser("import", help="validate reconstructions made elsewhere and write a manifest")
    importer.add_argument("listing", type=Path, help="CSV with image, codec, level, bpp, path")
    importer.add_argument("--references", required=True, type=Path, help="folder of the reference images")
    importer.add_argument("--out", required=True, type=Path, help="output folder (must be empty or absent)")

    metrics = commands.add_parser(
        "metrics", help="PSNR, PSNR-Y, MS-SSIM, SSIMULACRA2 of a reconstruction or a manifest"
    )
    metrics.add_argument("reference", nargs="?", type=Path, help="reference image")
    metrics.add_argument("distorted", nargs="?", type=Path, help="reconstruction")
    metrics.add_argument("--manifest", type=Path, help="recompute the metric columns of this manifest in place")
    metrics.add_argument("--references", type=Path, help="folder of references for --manifest")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; returns the exit status (0 ok, 1 pico error, 2 usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return {"codecs": _codecs, "ladder": _ladder, "import": _import, "metrics": _metrics}[args.command](
            args, parser
        )
    except PicoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _codecs(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pico.codecs import list_codecs

    rows = [codec.describe() for codec in list_codecs()]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    for row in rows:
        print(f"{row['name']:10} {row['kind']:9} {row['chroma'] or '-':4} {row['status']}")
        if row["version"]:
            print(f"{'':25}{row['version']}")
        if row["library"]:
            print(f"{'':25}{row['library']}; {row['param']}")
    return 0


def _ladder(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from tqdm import tqdm

    from pico.images import find_images
    from pico.ladder import CodecRef, run_ladder
    from pico.manifest import read_manifest_records
    from pico.ratecontrol import matched_targets

    if (args.bpp is None) == (args.match is None):
        parser.error("give exactly one of --bpp and --match")
    recipes = {}
    for path in args.recipe:
        from pico.codecs.external import load_recipe

        recipes[load_recipe(path).name] = str(path.resolve())
    names = [n.strip() for n in args.codecs.split(",") if n.strip()]
    if len(set(names)) != len(names):
        parser.error(f"a codec appears twice in --codecs {args.codecs}")
    codecs = [CodecRef(name, recipes.get(name)) for name in names]
    images = find_images(args.images)
    if args.match:
        manifest_path, _, codec = args.match.rpartition(":")
        if not manifest_path or not codec:
            parser.error("--match takes MANIFEST:CODEC, e.g. var/ladder/manifest.csv:pico")
        per_image = matched_targets(read_manifest_records(manifest_path), codec)
        missing = [p.stem for p in images if p.stem not in per_image]
        if missing:
            raise PicoError(
                f"{manifest_path}: codec {codec!r} has no rows for image(s) {', '.join(missing)}; nothing to match"
            )

        def targets(image: str) -> list[float]:
            return per_image[image]
    else:

        def targets(image: str) -> list[float]:
            return args.bpp

    def bar(total: int) -> tqdm:
        return tqdm(total=total, desc="ladder", unit="recon", disable=None)

    result = run_ladder(
        images,
        codecs,
        targets,
        args.out,
        tolerance=args.tolerance,
        jobs=args.jobs,
        dask_address=args.dask,
        keep_bitstreams=args.bitstreams,
        progress=bar,
    )
    encodes = [r["n_encodes"] for r in result.report if r["n_encodes"]]
    mean = sum(encodes) / len(encodes) if encodes else 0.0
    print(
        f"{result.manifest}: {len(result.rows)} rows; {result.computed} computed, {result.cached} from the cache; {mean:.2f} encodes per target"
    )
    for skipped in result.skipped:
        print(
            f"skipped {skipped['image']} {skipped['codec']} {skipped['target_bpp']:g} bpp: {skipped['status']}: {skipped['reason']}"
        )
    return 0


def _import(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pico.importer import import_reconstructions

    manifest = import_reconstructions(args.listing, args.references, args.out)
    print(f"{manifest}: imported")
    return 0


def _metrics(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pico.images import load_reference
    from pico.metrics import all_metrics

    if args.manifest:
        from pico.importer import refresh_metrics

        if not args.references:
            parser.error("--manifest needs --references")
        refresh_metrics(args.manifest, args.references)
        print(f"{args.manifest}: metrics recomputed")
        return 0
    if not (args.reference and args.distorted):
        parser.error("give REFERENCE and DISTORTED, or --manifest and --references")
    reference, distorted = load_reference(args.reference), load_reference(args.distorted)
    if reference.pixels.shape != distorted.pixels.shape:
        raise PicoError(
            f"{args.distorted}: size {distorted.width}x{distorted.height} differs from the reference's {reference.width}x{reference.height}"
        )
    print(json.dumps(all_metrics(reference.pixels, distorted.pixels)))
    return 0
