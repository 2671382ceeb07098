"""Simulated raters for the fault tests: each judges its trials over real HTTP, as a browser would.

A rater loads its trial page, picks a side and posts the form. A submit counts as acknowledged
when the site answered it with the redirect to the next page and no error message. Any other
outcome (connection refused or cut, a timeout, a server error) is retried as a browser user
would: load the trial page again and judge whatever it shows.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field

import requests

TOKEN = re.compile(r'name="trial" value="([^"]+)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Rater:
    """One rater's browser and what it saw: every trial it submitted, and those the site acknowledged."""

    base: str
    slug: str
    rater_id: int
    session_key: str
    think_s: float = 0.05
    sent: list[str] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)
    failures: int = 0
    finished: bool = False
    error: AssertionError | None = None
    csrf: str = ""

    def __post_init__(self) -> None:
        self.http = requests.Session()
        self.http.cookies.set("sessionid", self.session_key, domain="127.0.0.1", path="/")
        self.rng = random.Random(self.rater_id)

    def current_trial(self) -> str | None:
        """The token of the trial page the site shows now; None once the rater is done."""
        page = self.http.get(f"{self.base}/s/{self.slug}/compare/", timeout=20)
        page.raise_for_status()
        if page.url.endswith("/done/"):
            return None
        match = TOKEN.search(page.text)
        if match is None:
            raise AssertionError(f"rater {self.rater_id} was shown no trial but {page.url}: {page.text[:300]}")
        self.csrf = CSRF.findall(page.text)[0]
        return match.group(1)

    def judge_once(self) -> None:
        """Load the current trial and submit a choice; an unanswered or failed submit is only counted."""
        try:
            token = self.current_trial()
            if token is None:
                self.finished = True
                return
            time.sleep(self.think_s)
            self.sent.append(token)
            answer = self.http.post(
                f"{self.base}/s/{self.slug}/compare/",
                data={
                    "csrfmiddlewaretoken": self.csrf,
                    "trial": token,
                    "choice": self.rng.choice(["left", "right"]),
                    "response_ms": "1500",
                    "switches": "0",
                },
                allow_redirects=False,
                timeout=20,
            )
        except (requests.ConnectionError, requests.Timeout, requests.HTTPError):
            self.failures += 1
            time.sleep(0.2)
            return
        if answer.status_code == 302 and "messages" not in answer.cookies:
            self.acked.append(token)
        else:
            self.failures += 1

    def run(self, stop: threading.Event) -> None:
        """Judge until ``stop`` or the end; a page that is not what a rater should see is kept in ``error``."""
        try:
            while not stop.is_set() and not self.finished:
                self.judge_once()
        except AssertionError as exc:
            self.error = exc
