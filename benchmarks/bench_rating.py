"""Rater-side benchmark: pair design and sampling at PICO scale, plate drawing, crop rendering,
and what one trial's requests cost the server.

Run by ``make bench`` (or ``python benchmarks/bench_rating.py``). The pure parts need no
database; the last part builds a small study in a throw-away SQLite database under a temporary
``PICO_VAR_DIR`` and drives one rater through Django's WSGI handler, as gunicorn would: CPU time
and queries per request (comparison page, image, submit), in an empty study and with 20,000
trials stored.
"""

from __future__ import annotations

import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.design import base_allocation  # noqa: E402
from evalsite.rating.imaging import render_crop  # noqa: E402
from evalsite.rating.scheduler import (  # noqa: E402
    AdaptiveSampler,
    BalancedSampler,
    Condition,
    RaterState,
    StudyState,
    design_pairs,
    pair_targets,
)
from evalsite.screening.plates import plan_plates, plate_png  # noqa: E402

if TYPE_CHECKING:
    from evalsite.studies.models import Study

ISSUED = 75_000
"""Judgments issued so far in the sampler timings: a study at the PICO paper's size."""


def _timed(function: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``function()`` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def pico_scale_conditions(images: int = 30, codecs: int = 8, levels: int = 6) -> list[Condition]:
    """A PICO-sized study: every codec on a ladder of bpp targets, with per-codec jitter."""
    rng = random.Random(0)
    rows, next_id = [], 0
    for image in range(images):
        for codec in range(codecs):
            for level in range(levels):
                bpp = 0.05 * 2 ** (level * 0.6) * (1 + 0.15 * rng.uniform(-1, 1)) * (1 + codec * 0.1)
                rows.append(Condition(next_id, image, f"c{codec}", level, bpp))
                next_id += 1
    return rows


def main() -> None:
    conditions = pico_scale_conditions()
    pairs = tuple(design_pairs(conditions))
    print(f"pair design: {len(conditions)} conditions -> {len(pairs)} pairs")
    print(f"  design_pairs           {_timed(lambda: design_pairs(conditions), 5):8.1f} ms")
    rng = random.Random(1)
    counts = Counter({pair: rng.randrange(2 * ISSUED // len(pairs)) for pair in pairs})  # ~ISSUED so far
    images: Counter[int] = Counter()
    for pair, n in counts.items():
        images[pair.image] += n
    study = StudyState(pairs=pairs, pair_counts=counts, image_counts=images)
    seen = frozenset(rng.sample(pairs, 120))
    rater = RaterState(seen=seen, image_counts=Counter(p.image for p in seen), seed="bench")
    print(
        f"  next_pair (balanced)   {_timed(lambda: BalancedSampler().next_pair(study, rater), 20):8.1f} ms"
        f"  ({sum(counts.values())} judgments issued, 120 seen by the rater)"
    )

    # An adaptive study offers every same-image pair: 30 images x 20 conditions -> 30 x 190 pairs.
    conditions = pico_scale_conditions(codecs=4, levels=5)
    grid = sorted({(c.codec, c.level) for c in conditions})
    shares = list(base_allocation(pd.DataFrame(grid, columns=["codec", "level"])).itertuples(index=False))
    targets = pair_targets(conditions, shares)
    pairs = tuple(sorted(targets))
    counts = Counter({pair: rng.randrange(2 * ISSUED // len(pairs)) for pair in pairs})
    images = Counter()
    for pair, n in counts.items():
        images[pair.image] += n
    study = StudyState(pairs=pairs, pair_counts=counts, image_counts=images, targets=targets)
    seen = frozenset(rng.sample(pairs, 120))
    rater = RaterState(seen=seen, image_counts=Counter(p.image for p in seen), seed="bench")
    print(f"adaptive design: {len(conditions)} conditions -> {len(pairs)} pairs")
    print(f"  pair_targets           {_timed(lambda: pair_targets(conditions, shares), 5):8.1f} ms (once per refresh)")
    print(
        f"  next_pair (adaptive)   {_timed(lambda: AdaptiveSampler().next_pair(study, rater), 20):8.1f} ms"
        f"  ({sum(counts.values())} judgments issued, 120 seen by the rater)"
    )

    specs = plan_plates(8, seed=3)
    print(
        f"colour plate, 360 px PNG {_timed(lambda: plate_png(specs[1]), 5):8.1f} ms "
        "(8 per arriving rater, drawn ahead by the background worker)"
    )

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reference.png"
        noise = np.random.default_rng(0).integers(0, 256, (1536, 2048, 3), dtype=np.uint8)
        Image.fromarray(noise).save(path)
        print(
            f"crop 512x512 -> PNG      {_timed(lambda: render_crop(path, (700, 500, 512, 512)), 5):8.1f} ms "
            "(once per crop, at generation; requests stream the stored file)"
        )

    request_costs()


def _bench_study(images: int = 6, size: tuple[int, int] = (768, 512)) -> Study:
    """A live study of random-noise references with two JPEG 'codecs' at four levels, ready for raters."""
    import hashlib
    import io

    from django.conf import settings
    from django.contrib.auth.models import User

    from evalsite.rating.services import prepare_rater_stimuli
    from evalsite.studies.models import Reference, Stimulus, Study

    study = Study.objects.create(
        slug="bench",
        title="bench",
        owner=User.objects.create_user("bench"),
        state=Study.State.LIVE,
        min_view_ms=0,
        crop_width=512,
        crop_height=512,
        trials_per_rater=10_000,
        break_every=0,
        colour_plates=0,
        artifact_items=0,
        attention_rate=0.0,  # every trial a compared one: the rater answers "left" throughout
        attention_min=0,
        repeat_share=0.0,
    )
    rng = np.random.default_rng(0)
    root = Path(settings.STUDY_DATA_DIR)

    def save(image: Image.Image, rel: Path) -> str:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        image.save(root / rel)
        return hashlib.sha256((root / rel).read_bytes()).hexdigest()

    for i in range(images):
        photo = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
        rel = Path("bench/references") / f"i{i}.png"
        reference = Reference.objects.create(
            study=study, name=f"i{i}", path=str(rel), width=size[0], height=size[1], sha256=save(photo, rel)
        )
        for codec, offset in (("jpeg", 0), ("jpeg2", 5)):
            for level, quality in enumerate((10, 30, 60, 90)):
                buffer = io.BytesIO()
                photo.save(buffer, format="JPEG", quality=quality + offset)
                srel = Path("bench/reconstructions") / f"i{i}-{codec}-{level}.png"
                Stimulus.objects.create(
                    study=study,
                    reference=reference,
                    codec=codec,
                    level=level,
                    bpp=buffer.tell() * 8 / (size[0] * size[1]),
                    param=str(quality),
                    nbytes=buffer.tell(),
                    path=str(srel),
                    sha256=save(Image.open(io.BytesIO(buffer.getvalue())), srel),
                )
    prepare_rater_stimuli(study=study)
    return study


def _store_history(study: Study, trials: int) -> None:
    """``trials`` judged trials of other raters and their tally: a study well into its collection."""
    from evalsite.rating.assignment import study_design
    from evalsite.rating.models import Judgment, PairCount, Rater, Trial

    pairs, _ = study_design(study)
    raters = Rater.objects.bulk_create(Rater(study=study, stage=Rater.Stage.TRIALS) for _ in range(trials // 100))
    picked = [pairs[i % len(pairs)] for i in range(trials)]
    rows = [
        Trial(
            rater=raters[i // 100],
            seq=i % 100,
            reference_id=pair.image,
            a_id=pair.first,
            b_id=pair.second,
            shown_left="a",
            crop_x=0,
            crop_y=0,
            crop_w=512,
            crop_h=512,
        )
        for i, pair in enumerate(picked)
    ]
    Trial.objects.bulk_create(rows, batch_size=2000)
    Judgment.objects.bulk_create((Judgment(trial=t, winner="a", response_ms=2000) for t in rows), batch_size=2000)
    for pair, n in Counter(picked).items():
        PairCount.objects.update_or_create(
            study=study, first_id=pair.first, second_id=pair.second, defaults={"reference_id": pair.image, "issued": n}
        )


class _Browser:
    """One rater's browser talking straight to Django's WSGI handler (no test-client instrumentation)."""

    def __init__(self, session_cookie: str) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()
        self.cookie = session_cookie

    def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        import io

        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_COOKIE": self.cookie,
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
        }
        started: list[tuple[str, list[tuple[str, str]]]] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: object = None
        ) -> Callable[..., object]:
            started.append((status, headers))
            return lambda data: None

        result = self.handler(environ, start_response)
        data = b"".join(result)
        result.close()
        for name, value in started[0][1]:
            if name.lower() == "set-cookie" and value.strip().startswith("csrftoken="):
                self.cookie += "; " + value.strip().split(";", 1)[0]
        return int(started[0][0].split()[0]), data


def _form_value(page: str, name: str) -> str:
    """The value of the hidden form field ``name`` on a page."""
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found, f"no {name} field on the page"
    return found.group(1)


def _one_rater(study: Study, trials: int) -> dict[str, tuple[float, float]]:
    """Median CPU ms and queries per request kind over ``trials`` trials of a new rater."""
    from urllib.parse import urlencode

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from evalsite.rating import services
    from evalsite.rating.access import bind_session, session_key
    from evalsite.rating.geometry import Display
    from evalsite.rating.models import Rater

    rater = services.start_rater(study=study, params={})
    services.give_consent(rater=rater)
    services.finish_instructions(rater=rater)
    display = Display(
        device_pixel_ratio=1.0,
        window_width=1920,
        window_height=1080,
        zoom_ok=True,
        coarse_pointer=False,
        user_agent="Mozilla/5.0 Chrome/140.0",
        zoom_hint=1.0,
    )
    services.record_display(rater=rater, display=display)
    Rater.objects.filter(pk=rater.pk).update(stage=Rater.Stage.TRIALS)  # no practice in this study
    client = Client()
    session = client.session
    session[session_key(study)] = rater.pk
    session.save()
    bind_session(session)
    browser = _Browser(f"sessionid={session.session_key}")
    samples: dict[str, list[tuple[float, int]]] = {"comparison page": [], "image": [], "submit": []}

    def timed(kind: str, method: str, path: str, body: bytes = b"") -> bytes:
        with CaptureQueriesContext(connection) as queries:
            start = time.process_time()
            status, data = browser.request(method, path, body)
            spent = (time.process_time() - start) * 1000
        assert status in (200, 302), (kind, status)
        samples[kind].append((spent, len(queries)))
        return data

    url = f"/s/{study.slug}/compare/"
    for _ in range(trials):
        page = timed("comparison page", "GET", url).decode()
        for src in re.findall(r'src="(/s/[^"]+/img/[^"]+)"', page):
            timed("image", "GET", src)
        fields = {
            "trial": _form_value(page, "trial"),
            "csrfmiddlewaretoken": _form_value(page, "csrfmiddlewaretoken"),
            "choice": "left",
            "response_ms": 2000,
            "switches": 1,
        }
        timed("submit", "POST", url, urlencode(fields).encode())
    warm = trials // 5  # the first requests warm the process's caches
    return {
        kind: (float(np.median([ms for ms, _ in rows[warm:]])), float(np.median([n for _, n in rows[warm:]])))
        for kind, rows in samples.items()
    }


def request_costs(trials: int = 25, stored: int = 20_000) -> None:
    """Server CPU and queries of one trial's requests, in an empty study and with ``stored`` trials stored."""
    import os

    with tempfile.TemporaryDirectory() as var:
        os.environ.update(DJANGO_SETTINGS_MODULE="evalsite.settings", DEBUG="1", PICO_VAR_DIR=var)
        os.environ.setdefault("RATER_ENTRIES_PER_MINUTE", "0")
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        study = _bench_study()
        print("one trial's requests (Django WSGI handler, SQLite, CPU ms and queries, median):")
        for label, history in (("empty study", 0), (f"{stored} trials stored", stored)):
            if history:
                _store_history(study, history)
            costs = _one_rater(study, trials)
            per_trial = sum(ms * (3 if kind == "image" else 1) for kind, (ms, _) in costs.items())
            print(f"  {label}: {per_trial:.1f} ms per trial (page + 3 images + submit)")
            for kind, (ms, queries) in costs.items():
                print(f"    {kind:16s} {ms:6.1f} ms {queries:4.0f} queries")


if __name__ == "__main__":
    main()
