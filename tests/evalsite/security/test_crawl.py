"""A crawl of everything a rater's browser receives: no codec, level, bpp, file name or stimulus id in any of it.

A rater walks the whole flow over HTTP (screening answers looked up in the database, as a
simulated rater may). Every response is kept: pages, redirects, headers, and every URL they
reference on this site (scripts, styles, images) fetched as the browser would, through its URL.
The study's stimulus and reference ids are pushed to seven digits first, so that an id in a
URL, a form field or a data attribute cannot hide among small numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management.color import no_style
from django.db import connection

from evalsite.rating.models import Rater
from evalsite.screening.models import ScreeningAttempt
from evalsite.studies.models import Reference, Stimulus, Study
from pico.codecs import list_codecs

pytestmark = pytest.mark.django_db

FIRST_ID = 7_340_000
SITE_NAME = "pico"  # also the product's name (page titles, script names): says nothing about any image
SHORT_WORD = 6  # shorter forbidden words count only as whole words
LINK = re.compile(r'(?:src|href|action)="(/[^"]*)"|"(/(?:s|static)/[^"\s]*)"')
OPAQUE_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{16,}$")


class Crawl:
    """The test client as a browser: keeps every response and fetches every same-site URL a response names."""

    def __init__(self, client) -> None:
        self.client = client
        self.texts: list[tuple[str, str]] = []
        self.images: dict[str, bytes] = {}
        self.fetched: set[str] = set()

    def keep(self, url: str, response) -> None:
        for hop, _ in getattr(response, "redirect_chain", []):
            self.texts.append((f"redirect to {hop}", hop))
        self.texts.append((f"{url} headers", "\n".join(f"{k}: {v}" for k, v in response.items())))
        self.texts.append((f"{url} cookies", "\n".join(f"{c.key}={c.value}" for c in response.cookies.values())))
        body = b"".join(response.streaming_content) if response.streaming else response.content
        if response.get("Content-Type", "").startswith("image/"):
            self.images[url] = body
            return
        text = body.decode()
        self.texts.append((url, text))
        for match in LINK.finditer(text):
            linked = (match.group(1) or match.group(2)).split("?")[0].replace("&amp;", "&")
            if linked not in self.fetched and (linked.startswith("/static/") or "/img/" in linked):
                self.fetched.add(linked)
                fetched = self.client.get(linked)
                assert fetched.status_code == 200, f"{url} names {linked}, which answers {fetched.status_code}"
                self.keep(linked, fetched)

    def get(self, url: str, **params):
        response = self.client.get(url, params, follow=True)
        self.keep(url, response)
        return response

    def post(self, url: str, data: dict):
        response = self.client.post(url, data, follow=True)
        self.keep(url, response)
        return response


def _push_ids_up(owner) -> None:
    """Make the next study, reference and stimulus ids seven-digit numbers (on SQLite and PostgreSQL alike)."""
    study = Study.objects.create(pk=FIRST_ID, slug="id-bump", title="bump", owner=owner)
    reference = Reference.objects.create(pk=FIRST_ID, study=study, name="bump", path="b.png", width=1, height=1)
    Stimulus.objects.create(pk=FIRST_ID, study=study, reference=reference, codec="x", level=0, bpp=1.0, path="b.png")
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Study, Reference, Stimulus]):
            cursor.execute(sql)
    study.delete()


def _walk(crawl: Crawl, study: Study) -> Rater:
    slug = study.slug
    crawl.get(f"/s/{slug}/", PROLIFIC_PID="crawler-1", STUDY_ID="s", SESSION_ID="x")
    crawl.post(f"/s/{slug}/consent/", {"agree": "1"})
    crawl.post(f"/s/{slug}/instructions/", {})
    crawl.post(
        f"/s/{slug}/display/", {"device_pixel_ratio": 1, "window_width": 1920, "window_height": 1080, "zoom_ok": "on"}
    )
    rater = Rater.objects.get(study=study)
    for kind, page in (("colour", "colour"), ("artifact", "artifacts")):
        attempt = ScreeningAttempt.objects.get(rater=rater, kind=kind)
        crawl.post(f"/s/{slug}/{page}/", {f"item-{i.index}": i.expected for i in attempt.items.all()})
    response = crawl.get(f"/s/{slug}/compare/")
    for _ in range(40):
        token = re.search(rb'name="trial" value="([^"]+)"', response.content)
        if token is None:
            break
        answer = {"trial": token.group(1).decode(), "choice": "right", "response_ms": 1800, "switches": 3}
        response = crawl.post(f"/s/{slug}/compare/", answer)
    rater.refresh_from_db()
    return rater


def _stored_names(study: Study) -> set[str]:
    """Names of every file the study's images live in on the server: references, reconstructions, rendered crops."""
    roots = [Path(settings.STUDY_DATA_DIR)]
    roots += [Path(s["OPTIONS"]["location"]) for s in settings.STORAGES.values() if "location" in s.get("OPTIONS", {})]
    names = set()
    for root in roots:
        for path in root.rglob("*") if root.is_dir() else []:
            if path.is_file():
                names |= {path.name, path.stem} if len(path.stem) >= 4 else {path.name}
    return names


def _forbidden(study: Study) -> set[str]:
    words = {"codec", "bpp", "level", "reconstruction", "stimulus", "stimuli", study.title}
    words |= {codec.name for codec in list_codecs() if codec.name != SITE_NAME}
    words |= _stored_names(study)
    for stimulus in Stimulus.objects.filter(study=study):
        words |= {stimulus.codec, stimulus.path, Path(stimulus.path).name}
        words |= {f"{stimulus.bpp:.2f}", f"{stimulus.bpp:.3f}", repr(stimulus.bpp), stimulus.sha256[:12]}
        words |= {f"{stimulus.codec}-{stimulus.level}", f"{stimulus.codec}_{stimulus.level}"}
    words |= {str(pk) for pk in Stimulus.objects.filter(study=study).values_list("pk", flat=True)}
    words |= {str(pk) for pk in Reference.objects.filter(study=study).values_list("pk", flat=True)}
    return {w.lower() for w in words if w and w.lower() != SITE_NAME}


def _pattern(word: str) -> re.Pattern[str]:
    if len(word) >= SHORT_WORD and not word.isdigit():
        return re.compile(re.escape(word))
    return re.compile(rf"(?<![a-z0-9.]){re.escape(word)}(?![a-z0-9]|\.\d)")


@pytest.mark.parametrize("mode", ["side_by_side", "flicker"])
def test_nothing_a_rater_receives_names_a_codec_level_bpp_file_or_stimulus(
    client, make_rated_study, add_codec, alice, mode
):
    _push_ids_up(alice)
    study = make_rated_study(
        "crawl",
        mode=mode,
        trials_per_rater=6,
        attention_rate=0.25,
        attention_max_failures=3,  # the walk answers blindly: failed checks must not end it early
        practice_trials=2,
        colour_plates=2,
        colour_pass=2,
        artifact_items=3,
        artifact_pass=2,
    )
    add_codec(study, "webp")
    study.title = "JPEG against WebP at 0.25 bpp"  # researchers name codecs in titles; raters must not see them
    study.save()
    assert min(study.stimuli.values_list("pk", flat=True)) > FIRST_ID

    crawl = Crawl(client)
    rater = _walk(crawl, study)
    assert rater.stage == Rater.Stage.DONE, "the walk must reach the end for the crawl to cover every page"
    assert rater.trials.filter(kind="attention").exists() and rater.trials.filter(kind="practice").exists()
    assert any(url.endswith(".js") for url in crawl.fetched) and len(crawl.images) > 15

    # Opaque tokens (trial and image keys, CSRF) are random letters: checked by shape, then blanked
    # so that a forbidden short word cannot match inside one by chance.
    tokens = set()
    stored = {name.lower() for name in _stored_names(study) if len(name) >= SHORT_WORD}
    for url in crawl.images:
        # s/<slug>/img/<token>: one sealed token, the same shape for a trial (attention checks and
        # practice included), the worked example and a screening item
        segments = url.strip("/").split("/")[3:]
        assert len(segments) == 1 and OPAQUE_SEGMENT.match(segments[0]), f"{url} is not opaque"
        assert not any(name in url.lower() for name in stored), f"{url} names a stored file"
        tokens |= set(segments)
    for _, text in crawl.texts:
        tokens |= set(re.findall(r'name="(?:trial|csrfmiddlewaretoken)" value="([^"]+)"', text))
        tokens |= set(re.findall(r"csrftoken=([A-Za-z0-9]+)", text))
    patterns = {word: _pattern(word) for word in _forbidden(study)}
    for where, text in crawl.texts:
        for token in tokens:
            text = text.replace(token, "#")
        lowered = text.lower()
        leaks = sorted(word for word, pattern in patterns.items() if pattern.search(lowered))
        assert not leaks, f"{where} reveals {leaks}"
    study_files = {path.read_bytes() for path in Path(settings.STUDY_DATA_DIR).rglob("*.png")}
    for url, data in crawl.images.items():
        assert data not in study_files, f"{url} is a reference or reconstruction file as it is, not a fresh encoding"
        assert b"tEXt" not in data and b"iTXt" not in data and b"eXIf" not in data, f"{url} carries metadata"
