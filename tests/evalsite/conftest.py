"""Shared world of the site's tests: researchers Alice and Bob, and small studies made in code.

Images are tiny synthetic photos; stimuli are real JPEG reconstructions at a few qualities,
saved as PNG under a per-test STUDY_DATA_DIR.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from evalsite.rating.geometry import Display
from evalsite.rating.models import Judgment, Rater, Trial
from evalsite.studies.models import Reference, Stimulus, Study

PASSWORD = "correct horse battery staple"
DESKTOP_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36"


DESKTOP = Display(
    device_pixel_ratio=1.0,
    window_width=1920,
    window_height=1080,
    zoom_ok=True,
    coarse_pointer=False,
    user_agent=DESKTOP_AGENT,
    zoom_hint=1.0,
)


def run_tasks_immediately(settings) -> None:
    """Run enqueued background tasks at once, in the caller, instead of in a db_worker (same queues as the site)."""
    immediate = "django_tasks.backends.immediate.ImmediateBackend"
    settings.TASKS = {"default": {**settings.TASKS["default"], "BACKEND": immediate}}


def desktop_display(**overrides: object) -> Display:
    """A full-HD desktop Chrome at 100% zoom; ``overrides`` change any measured value."""
    return dataclasses.replace(DESKTOP, **overrides)


def synthetic_photo(width: int, height: int, seed: int) -> Image.Image:
    """Smooth gradients, edges and noise: enough texture for compression to show."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    base = np.stack(
        [
            128 + 100 * np.sin(x / (7 + seed) + y / 13),
            128 + 90 * np.cos(y / (5 + seed)),
            (x * 255 / max(width - 1, 1)),
        ],
        axis=-1,
    )
    base[(x // 16 + y // 16) % 2 == 0] *= 0.7
    base += rng.normal(0, 12, base.shape)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def _save_png(image: Image.Image, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def study_files(settings, tmp_path) -> Path:
    """Study files (rendered crops, colour plates) of this test's own, never in var/."""
    location = tmp_path / "files"
    files = {"BACKEND": "evalsite.rating.files.StudyFileSystemStorage", "OPTIONS": {"location": location}}
    settings.STORAGES = {**settings.STORAGES, "studyfiles": files}
    return location


@pytest.fixture
def study_data_dir(settings, tmp_path) -> Path:
    """A fresh STUDY_DATA_DIR for this test."""
    settings.STUDY_DATA_DIR = tmp_path / "studies"
    settings.STUDY_DATA_DIR.mkdir()
    return settings.STUDY_DATA_DIR


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.org", PASSWORD)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.org", PASSWORD)


@pytest.fixture
def make_study(study_data_dir, alice) -> Callable[..., Study]:
    """Factory: a study with ``images`` references and JPEG conditions at ``qualities``."""

    def make(
        slug: str = "tiny",
        *,
        owner=None,
        images: int = 2,
        qualities: tuple[int, ...] = (10, 40, 90),
        size: tuple[int, int] = (96, 64),
        state: str = Study.State.LIVE,
        **fields,
    ) -> Study:
        fields.setdefault("crop_width", min(64, size[0]))
        fields.setdefault("crop_height", min(64, size[1]))
        study = Study.objects.create(slug=slug, title=f"Study {slug}", owner=owner or alice, state=state, **fields)
        for index in range(images):
            name = f"img{index}"
            photo = synthetic_photo(*size, seed=index + 1)
            rel = Path(slug) / "references" / f"{name}.png"
            reference = Reference.objects.create(
                study=study,
                name=name,
                path=str(rel),
                width=size[0],
                height=size[1],
                sha256=_save_png(photo, study_data_dir / rel),
            )
            for level, quality in enumerate(qualities):
                buffer = io.BytesIO()
                photo.save(buffer, format="JPEG", quality=quality)
                nbytes = buffer.tell()
                decoded = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
                srel = Path(slug) / "reconstructions" / name / f"jpeg-{level}.png"
                Stimulus.objects.create(
                    study=study,
                    reference=reference,
                    codec="jpeg",
                    level=level,
                    bpp=nbytes * 8 / (size[0] * size[1]),
                    param=str(quality),
                    nbytes=nbytes,
                    path=str(srel),
                    sha256=_save_png(decoded, study_data_dir / srel),
                )
        return study

    return make


# --- Rater side (RATER helper): studies ready for raters, and raters walked to a given step ---


@pytest.fixture
def make_rated_study(make_study) -> Callable[..., Study]:
    """Factory: ``make_study`` plus the attention and screening stimuli raters need."""
    from evalsite.rating.services import prepare_rater_stimuli

    def make(slug: str = "rated", **kwargs) -> Study:
        kwargs.setdefault("min_view_ms", 0)
        study = make_study(slug, **kwargs)
        prepare_rater_stimuli(study=study)
        return study

    return make


@pytest.fixture
def walk_rater() -> Callable[..., object]:
    """Factory: a rater of ``study`` moved through the flow by services up to ``stage``.

    Screening tests are answered correctly from the database; pass ``client`` to log that
    browser session in as the rater.
    """
    from evalsite.rating import selectors, services
    from evalsite.rating.access import bind_session, session_key
    from evalsite.rating.models import Rater
    from evalsite.screening import services as screening
    from evalsite.screening.models import ScreeningAttempt

    def walk(study: Study, stage: str = Rater.Stage.TRIALS, *, pid: str = "", client=None) -> Rater:
        rater = services.start_rater(study=study, params={"pid": pid} if pid else {})
        steps = {
            Rater.Stage.CONSENT: lambda: services.give_consent(rater=rater),
            Rater.Stage.INSTRUCTIONS: lambda: services.finish_instructions(rater=rater),
            Rater.Stage.DISPLAY: lambda: services.record_display(rater=rater, display=desktop_display()),
        }
        while rater.stage != stage:
            if rater.stage in steps:
                steps[rater.stage]()
            elif rater.stage in (Rater.Stage.COLOUR, Rater.Stage.ARTIFACT):
                attempt = screening.start_attempt(rater=rater, kind=ScreeningAttempt.Kind(rater.stage))
                screening.submit_attempt(attempt=attempt, answers={i.index: i.expected for i in attempt.items.all()})
            elif rater.stage == Rater.Stage.PRACTICE:
                trial = services.issue_trial(rater=rater)
                right = selectors.golden_winner((trial.a_id, trial.b_id))
                good = "left" if (trial.a_id if trial.shown_left == "a" else trial.b_id) == right else "right"
                services.record_judgment(rater=rater, trial_token=trial.token, choice=good, response_ms=2000)
            else:
                raise AssertionError(f"cannot walk a rater from {rater.stage} to {stage}")
            rater.refresh_from_db()
        if client is not None:
            session = client.session
            session[session_key(study)] = rater.pk
            session.save()
            bind_session(session)  # as the study link does
        return rater

    return walk


def _rated(study: Study, pick_winner: Callable[..., str], *, n: int, seed: int, **fields) -> Rater:
    """A rater of ``study`` who judged ``n`` random same-image pairs; ``pick_winner(rng, a, b)`` says 'a' or 'b'."""
    rng = random.Random(seed)
    rater = Rater.objects.create(study=study, stage=Rater.Stage.TRIALS, **fields)
    conditions = list(study.stimuli.filter(role=Stimulus.Role.CONDITION).select_related("reference"))
    for seq in range(n):
        a, b = rng.sample(conditions, 2)
        while b.reference_id != a.reference_id:
            a, b = rng.sample(conditions, 2)
        trial = Trial.objects.create(
            rater=rater,
            seq=seq,
            kind=Trial.Kind.TRIAL,
            reference=a.reference,
            a=a,
            b=b,
            shown_left=rng.choice("ab"),
            crop_x=0,
            crop_y=0,
            crop_w=study.crop_width,
            crop_h=study.crop_height,
        )
        winner = pick_winner(rng, a, b)
        Judgment.objects.create(
            trial=trial, winner=winner, response_ms=rng.randint(1500, 6000), switches=rng.randint(0, 5)
        )
    return rater


@pytest.fixture
def judge() -> Callable[..., Rater]:
    """Factory: a rater of ``study`` who judged ``n`` trials, preferring the higher level with probability ``p``.

    Trials and judgments are rows of the rating app's models, as its services would leave them.
    """

    def make(study: Study, *, n: int = 12, p: float = 0.9, seed: int = 0, crowd_id: str = "", **fields) -> Rater:
        def pick(rng: random.Random, a: Stimulus, b: Stimulus) -> str:
            better = "a" if a.level > b.level else "b"
            return better if rng.random() < p else ("b" if better == "a" else "a")

        return _rated(study, pick, n=n, seed=seed, crowd_id=crowd_id, **fields)

    return make


@pytest.fixture
def add_codec() -> Callable[..., None]:
    """Factory: conditions of another codec on every reference of ``study``, reusing the JPEG files at other bpp."""

    def add(study: Study, codec: str = "other", bpp_factor: float = 0.8) -> None:
        for jpeg in list(study.stimuli.filter(role=Stimulus.Role.CONDITION, codec="jpeg")):
            Stimulus.objects.create(
                study=study,
                reference=jpeg.reference,
                codec=codec,
                level=jpeg.level,
                bpp=jpeg.bpp * bpp_factor,
                path=jpeg.path,
                sha256=jpeg.sha256,
            )

    return add


@pytest.fixture
def judge_by_elo() -> Callable[..., Rater]:
    """Factory: a rater of ``study`` who judged ``n`` random same-image pairs as Bradley–Terry on ``elo``.

    ``elo`` maps (codec, level) to true Elo points; P(a wins) = 1 / (1 + 10^((elo_b - elo_a) / 400)).
    """

    def make(study: Study, elo: dict[tuple[str, int], float], *, n: int = 100, seed: int = 0) -> Rater:
        def pick(rng: random.Random, a: Stimulus, b: Stimulus) -> str:
            gap = elo[(a.codec, a.level)] - elo[(b.codec, b.level)]
            return "a" if rng.random() < 1 / (1 + 10 ** (-gap / 400)) else "b"

        return _rated(study, pick, n=n, seed=seed)

    return make
