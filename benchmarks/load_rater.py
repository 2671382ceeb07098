"""A simulated rater for benchmarks/bench_load.py: the real HTTP flow, as a desktop browser walks it.

Entry with crowd-platform parameters, consent, instructions (with the worked example's images),
display check, colour and artifact screening, practice, trials with attention checks and breaks,
completion code; then the next rater arrives in a fresh session. Every page's images are loaded
(six at a time, as a browser does), static files once per session (a browser caches them), and
every form is posted with the CSRF token it carries. The rater answers screening items,
practice trials and attention checks right (it looks them up in the database, as the browser
tests do) and the other trials at random. Needs ``django.setup()`` for the look-ups.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, ClassVar
from urllib.parse import urlencode, urljoin, urlsplit

import gevent
import gevent.pool
from django.core.exceptions import ObjectDoesNotExist
from django.db import DatabaseError, connection
from locust import FastHttpUser, constant, task
from locust.exception import StopUser

from evalsite.rating import selectors
from evalsite.rating.models import Trial
from evalsite.screening.models import ScreeningAttempt

DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36"
DISPLAY = {
    "device_pixel_ratio": "1",
    "window_width": "1600",
    "window_height": "1000",
    "zoom_ok": "on",
    "zoom_hint": "1.000",
}
PARALLEL_IMAGES = 6  # connections a browser opens per host
RETRY_PAUSE_S = 1.0
PAGE_NAMES = {
    "": "entry",
    "consent": "consent",
    "instructions": "instructions",
    "display": "display",
    "colour": "screening page",
    "artifacts": "screening page",
    "compare": "trial page",
    "done": "done",
}
FIRST_TRIAL = "link → first trial"
"""A statistic of its own: time from the study link to the first trial on screen, less think time."""


class Page(HTMLParser):
    """What a browser reads off one HTML page: form fields, images, static files, element ids."""

    def __init__(self, path: str, html: str) -> None:
        super().__init__()
        self.path = path
        self.fields: dict[str, str] = {}
        self.images: list[str] = []
        self.assets: list[str] = []
        self.ids: set[str] = set()
        self.classes: dict[str, str] = {}
        self.texts: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.min_view_ms = 0  # the trial's data-min-view-ms: trial.js accepts no choice before it
        self.code = ""  # a message page's data-code: why the rater cannot go on
        self._open_id: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if "id" in attr:
            self.ids.add(attr["id"])
            self.classes[attr["id"]] = attr.get("class", "")
            self._open_id = attr["id"]
        if "data-min-view-ms" in attr:
            self.min_view_ms = int(attr["data-min-view-ms"])
        if "data-code" in attr:
            self.code = attr["data-code"]
        if tag == "input" and attr.get("name") and attr.get("type") != "checkbox":
            self.fields.setdefault(attr["name"], attr.get("value", ""))
        elif tag == "img" and attr.get("src"):
            self.images.append(urljoin(self.path, attr["src"]))
        elif tag == "script" and attr.get("src"):
            self.assets.append(urljoin(self.path, attr["src"]))
        elif tag == "link" and attr.get("rel") == "stylesheet":
            self.assets.append(urljoin(self.path, attr["href"]))
        elif tag == "a" and "id" in attr:
            self.links[attr["id"]] = urljoin(self.path, attr.get("href", ""))

    def handle_data(self, data: str) -> None:
        if self._open_id is not None and data.strip():
            self.texts.setdefault(self._open_id, data.strip())

    def handle_endtag(self, tag: str) -> None:
        self._open_id = None

    @property
    def step(self) -> str:
        return step_of(self.path)


def step_of(path: str) -> str:
    """The rater's step a page of /s/<study>/ belongs to: the last part of its path ('' for the study link)."""
    return path.rstrip("/").rsplit("/", 1)[-1] if path.count("/") > 3 else ""


@dataclass
class Ledger:
    """What one run's raters did: the trials whose judgment the site acknowledged, and sessions completed."""

    prefix: str
    acknowledged: set[str] = field(default_factory=set)
    completed: int = 0


@dataclass
class Flow:
    """Settings of one run, shared by its raters."""

    slug: str
    think_s: float
    ledger: Ledger
    stopping: bool = False  # set at the end of the run: each rater finishes its action, then leaves


def screening_answers(crowd_id: str, kind: str) -> dict[str, str]:
    """The right answers of the rater's screening attempt, as form fields (``item-N``)."""
    attempt = ScreeningAttempt.objects.get(rater__crowd_id=crowd_id, kind=kind)
    return {f"item-{item.index}": item.expected for item in attempt.items.all()}


def golden_side(trial_token: str) -> str | None:
    """'left' or 'right' for a practice trial or attention check (the side with the right answer), else None."""
    trial = Trial.objects.get(token=trial_token)
    if trial.kind not in (Trial.Kind.PRACTICE, Trial.Kind.ATTENTION):
        return None
    winner = selectors.golden_winner((trial.a_id, trial.b_id))
    if winner is None:
        return None
    good = "a" if winner == trial.a_id else "b"
    return "left" if trial.shown_left == good else "right"


def look_up(function: Any, *args: str) -> Any:
    """Run a database look-up in gevent's pool of OS threads: it does not stall the other raters'
    requests, and the pool's few threads each keep one connection (not one per rater)."""
    result, error = gevent.get_hub().threadpool.apply(_look_up, (function, *args))
    if error:
        raise FlowError(f"look-up {function.__name__}: {error}")
    return result


def _look_up(function: Any, *args: str) -> tuple[Any, str]:
    """``function(*args)`` and '', or None and what went wrong (raising would print from the thread)."""
    try:
        return function(*args), ""
    except DatabaseError as exc:
        connection.close()  # a server restarted under us: the next look-up connects again
        return None, str(exc)
    except ObjectDoesNotExist as exc:
        return None, str(exc)


class FlowError(Exception):
    """The site answered something a browser could not go on from; the rater's session ends there."""

    def __init__(self, message: str, *, reported: bool = False) -> None:
        super().__init__(message)
        self.reported = reported  # already counted as the failure of a request


class SimulatedRater(FastHttpUser):
    """One crowd rater after another, each through the whole study; see the module docstring."""

    flow: ClassVar[Flow]
    wait_time = constant(0)  # think time is inside the flow, between actions
    default_headers = {"User-Agent": DESKTOP, "Accept-Language": "en"}
    concurrency = PARALLEL_IMAGES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.crowd_id = ""
        self.cached: set[str] = set()  # static files this session's browser has
        self.arrived = 0.0  # when this rater opened the study link (perf_counter)
        self.thought_s = 0.0  # think time since then
        self.first_trial_seen = False

    @task
    def take_part(self) -> None:
        """One rater's session, from the study link to the completion code."""
        if self.flow.stopping:
            raise StopUser
        self.client.cookiejar.clear()
        self.cached.clear()
        self.arrived, self.thought_s = time.perf_counter(), 0.0
        self.first_trial_seen = False
        self.crowd_id = f"{self.flow.ledger.prefix}-{uuid.uuid4().hex[:12]}"
        query = urlencode({"PROLIFIC_PID": self.crowd_id, "STUDY_ID": "load", "SESSION_ID": uuid.uuid4().hex[:8]})
        try:
            page: Page | None = self.open(f"/s/{self.flow.slug}/?{query}")
            while page is not None:
                page = self.act(page)
        except FlowError as exc:
            if not exc.reported:
                self.environment.events.request.fire(
                    request_type="FLOW", name="flow", response_time=0, response_length=0, exception=exc, context={}
                )
            gevent.sleep(RETRY_PAUSE_S)  # the next rater arrives later, not in a tight loop on a failing site

    def act(self, page: Page) -> Page | None:
        """Do what a rater does on ``page``; the next page, or None when the session is over."""
        step = page.step
        if step == "consent":
            self.think()
            return self.submit(page, {"agree": "1"}, "consent submit")
        if step == "instructions":
            self.load_images(page.images, "example image")
            self.think()
            return self.submit(page, {}, "instructions submit")
        if step == "display":
            self.think()
            return self.submit(page, DISPLAY, "display submit")
        if step in ("colour", "artifacts"):
            self.load_images(page.images, "screening image")
            answers = look_up(screening_answers, self.crowd_id, "colour" if step == "colour" else "artifact")
            self.think()
            return self.submit(page, answers, "screening submit")
        if step == "compare" and "break" in page.ids:
            self.think()
            return self.open(page.links["continue"])
        if step == "compare" and "trial" in page.ids:
            return self.judge(page)
        if step == "done" and page.texts.get("completion-code"):
            self.flow.ledger.completed += 1
            return None
        raise FlowError(f"unexpected page {page.path} {page.code}")

    def judge(self, page: Page) -> Page:
        """Look at the three images, think, choose; the site must show the next trial (or a break, or the end)."""
        token = page.fields["trial"]
        self.load_images(page.images, "image")
        shown = time.perf_counter()
        if not self.first_trial_seen:
            self.first_trial_seen = True
            waited_ms = (shown - self.arrived - self.thought_s) * 1000
            self.environment.events.request.fire(
                request_type="FLOW", name=FIRST_TRIAL, response_time=waited_ms, response_length=0,
                exception=None, context={},
            )  # fmt: skip
        side = look_up(golden_side, token) or random.choice(("left", "right"))
        self.think(minimum_s=page.min_view_ms / 1000)
        fields = {
            "trial": token,
            "choice": side,
            "response_ms": str(round((time.perf_counter() - shown) * 1000)),
            "switches": "4" if "flicker" in page.classes.get("trial", "") else "0",
        }
        following = self.submit(page, fields, "judgment submit")
        if following.fields.get("trial") == token:
            raise FlowError("judgment not accepted: the same trial came back")
        self.flow.ledger.acknowledged.add(token)
        return following

    def think(self, minimum_s: float = 0.0) -> None:
        """A rater's pause before acting: uniform between half and 1.5 times the think time."""
        pause = max(minimum_s, random.uniform(0.5, 1.5) * self.flow.think_s)
        self.thought_s += pause
        gevent.sleep(pause)
        if self.flow.stopping:
            raise StopUser  # between actions: every request sent has had its answer

    def open(self, url: str) -> Page:
        """GET a page as a browser does: follow redirects, then load the static files not cached yet."""
        for _ in range(5):
            path = urlsplit(url).path
            name = PAGE_NAMES.get(step_of(path), "other page")
            with self.client.get(url, name=name, allow_redirects=False, catch_response=True) as response:
                status = response.status_code
                if status in (301, 302):
                    response.success()
                    url = urljoin(url, response.headers["location"])
                    continue
                if status != 200 or not response.text:
                    response.failure(f"status {status}")
                else:
                    response.success()
            if status != 200 or not response.text:
                raise FlowError(f"GET {path}: status {status}", reported=True)
            page = Page(path, response.text)
            self.load_assets(page)
            return page
        raise FlowError(f"more than 5 redirects from {url}")

    def submit(self, page: Page, fields: dict[str, str], name: str) -> Page:
        """POST the page's form (with its CSRF token) as the browser does; expects a redirect, opens its target."""
        data = {"csrfmiddlewaretoken": page.fields.get("csrfmiddlewaretoken", ""), **fields}
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": self.host,
            "Referer": f"{self.host}{page.path}",
        }
        with self.client.post(
            page.path, data=urlencode(data), headers=headers, name=name, allow_redirects=False, catch_response=True
        ) as response:
            status = response.status_code
            if status == 302:
                response.success()
            else:
                response.failure(f"status {status}, expected a redirect")
        if status != 302:
            raise FlowError(f"POST {page.path}: status {status}", reported=True)
        return self.open(urljoin(page.path, response.headers["location"]))

    def load_images(self, urls: list[str], name: str) -> None:
        """Load every image of a page, ``PARALLEL_IMAGES`` at a time; each must be a non-empty PNG."""
        pool = gevent.pool.Pool(PARALLEL_IMAGES)
        pool.map(lambda url: self.load_image(url, name), urls)

    def load_image(self, url: str, name: str) -> None:
        with self.client.get(url, name=name, catch_response=True) as response:
            body = response.content or b""
            if response.status_code == 200 and body.startswith(b"\x89PNG"):
                response.success()
            else:
                response.failure(f"status {response.status_code}, {len(body)} bytes")

    def load_assets(self, page: Page) -> None:
        """Static files (CSS, scripts) this session has not loaded yet: a browser caches them."""
        for url in page.assets:
            if url not in self.cached:
                self.cached.add(url)
                with self.client.get(url, name="static", catch_response=True) as response:
                    if response.status_code == 200:
                        response.success()
                    else:
                        response.failure(f"status {response.status_code}")
