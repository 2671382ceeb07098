"""Researcher pages: login required, one researcher cannot read or change another's study, actions work."""

from __future__ import annotations

import io
import zipfile

import pytest

from analysis.judgments import read_judgments
from evalsite.rating.models import Rater
from evalsite.studies.models import Study
from evalsite.studies.services import share_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(make_study):
    return make_study("alices", state=Study.State.LIVE)


def study_urls(study: Study, rater: Rater) -> list[tuple[str, str]]:
    slug = study.slug
    stimulus = study.stimuli.first()
    return [
        ("get", f"/studies/{slug}/"),
        ("get", f"/studies/{slug}/status/"),
        ("get", f"/studies/{slug}/export/judgments.csv"),
        ("get", f"/studies/{slug}/export/bundle.zip"),
        ("get", f"/studies/{slug}/image/stimulus/{stimulus.pk}/"),
        ("get", f"/studies/{slug}/image/reference/{stimulus.reference_id}/"),
        ("post", f"/studies/{slug}/action/close/"),
        ("post", f"/studies/{slug}/raters/{rater.pk}/"),
        ("post", f"/studies/{slug}/report/"),
        ("post", f"/studies/{slug}/share/"),
        ("post", f"/studies/{slug}/generate/"),
    ]


def test_every_study_page_needs_a_login(client, study, judge):
    rater = judge(study, n=2)
    for method, url in study_urls(study, rater):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith("/accounts/login/"), url


def test_another_researcher_can_neither_read_nor_change_the_study(client, study, judge, bob):
    rater = judge(study, n=2)
    client.force_login(bob)
    for method, url in study_urls(study, rater):
        assert getattr(client, method)(url).status_code == 404, url
    study.refresh_from_db()
    rater.refresh_from_db()
    assert study.state == Study.State.LIVE
    assert not rater.excluded
    assert b"alices" not in client.get("/studies/").content


def test_a_shared_study_is_visible_to_the_other_researcher(client, study, alice, bob):
    share_study(study=study, user=bob, actor=alice)
    client.force_login(bob)
    assert b"alices" in client.get("/studies/").content
    assert client.get(f"/studies/{study.slug}/").status_code == 200


def test_the_study_page_shows_progress_elo_and_raters(client, study, judge, alice):
    for seed in range(3):
        judge(study, n=20, seed=seed, crowd_id=f"crowd-{seed}")
    client.force_login(alice)
    response = client.get(f"/studies/{study.slug}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert '<b id="n-judgments">60</b>' in page
    assert '<b id="n-started">3</b>' in page
    assert 'id="elo-table"' in page
    assert "crowd-2" in page
    assert f"/s/{study.slug}/" in page


def test_launch_pause_and_close_from_the_page(client, make_study, alice):
    study = make_study("draft", state=Study.State.DRAFT)
    client.force_login(alice)
    for action, state in (("launch", "live"), ("pause", "paused"), ("launch", "live"), ("close", "closed")):
        client.post(f"/studies/{study.slug}/action/{action}/")
        study.refresh_from_db()
        assert study.state == state


def test_a_refused_action_shows_the_reason(client, make_study, alice):
    study = make_study("closed", state=Study.State.CLOSED)
    client.force_login(alice)
    response = client.post(f"/studies/{study.slug}/action/launch/", follow=True)
    assert "cannot be launched" in response.content.decode()


def test_excluding_and_including_a_rater(client, study, judge, alice, tmp_path):
    keep, drop = judge(study, n=4, seed=1), judge(study, n=3, seed=2)
    client.force_login(alice)
    client.post(f"/studies/{study.slug}/raters/{drop.pk}/", {"reason": "always left"})
    drop.refresh_from_db()
    assert drop.excluded and drop.excluded_reason == "always left"
    csv = client.get(f"/studies/{study.slug}/export/judgments.csv").content
    (tmp_path / "j.csv").write_bytes(csv)
    assert set(read_judgments(tmp_path / "j.csv")["rater"]) == {f"r{keep.pk}"}
    client.post(f"/studies/{study.slug}/raters/{drop.pk}/", {"include": "1"})
    drop.refresh_from_db()
    assert not drop.excluded


def test_the_bundle_downloads_as_a_zip(client, study, judge, alice):
    judge(study, n=3)
    client.force_login(alice)
    response = client.get(f"/studies/{study.slug}/export/bundle.zip")
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
        assert {"study.toml", "manifest.csv", "judgments.csv", "raters.csv"} <= set(bundle.namelist())


def test_gallery_images_are_served_to_the_owner(client, study, alice):
    client.force_login(alice)
    stimulus = study.stimuli.first()
    response = client.get(f"/studies/{study.slug}/image/stimulus/{stimulus.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_the_owner_shares_a_study_from_its_page(client, study, alice, bob):
    client.force_login(alice)
    client.post(f"/studies/{study.slug}/share/", {"username": "bob"})
    assert list(study.shared_with.all()) == [bob]
    client.force_login(bob)
    assert client.get(f"/studies/{study.slug}/").status_code == 200
    response = client.post(f"/studies/{study.slug}/share/", {"username": "bob"}, follow=True)
    assert "Only the study&#x27;s owner can share it." in response.content.decode()


def test_the_study_page_costs_the_same_queries_for_more_raters(client, study, judge, alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(alice)
    judge(study, n=20, seed=1)
    judge(study, n=20, seed=2)
    with CaptureQueriesContext(connection) as few:
        client.get(f"/studies/{study.slug}/")
    for seed in range(3, 9):
        judge(study, n=20, seed=seed)
    with CaptureQueriesContext(connection) as many:
        client.get(f"/studies/{study.slug}/")
    assert len(many.captured_queries) == len(few.captured_queries)
