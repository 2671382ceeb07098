"""The security tests' shared pieces: a study raters can walk, a researcher's API client, trial pages read as HTML."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from evalsite.api.services import issue_token
from evalsite.studies.models import Study

TRIAL_TOKEN = re.compile(rb'name="trial" value="([^"]+)"')
IMAGE_URL = re.compile(r'src="(/s/[^"]+/img/[^"]+)"')


def trial_token(response) -> str:
    """The trial token of a comparison page."""
    found = TRIAL_TOKEN.search(response.content)
    assert found, response.content.decode()[-1500:]
    return found.group(1).decode()


def answer(client: Client, study: Study, token: str, choice: str = "left", **extra: object):
    """Post a choice on the comparison page, as its form does."""
    return client.post(
        f"/s/{study.slug}/compare/", {"trial": token, "choice": choice, "response_ms": 1500, "switches": 2, **extra}
    )


@pytest.fixture
def study(make_rated_study) -> Study:
    """A live study with no practice and no attention checks: every comparison is a plain trial."""
    return make_rated_study(trials_per_rater=6, attention_rate=0.0, attention_min=0, practice_trials=0)


@pytest.fixture
def api_client(alice) -> Callable[[], Client]:
    """Factory: a client that sends Alice's API token."""
    token = issue_token(user=alice, name="tests")[1]
    return lambda: Client(HTTP_AUTHORIZATION=f"Bearer {token}")
