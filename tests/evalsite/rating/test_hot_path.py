"""The rater's hot path: pinned query counts, no study-wide count, and no image work in a request.

The counts are what one trial costs the server (trial page, three images, submit): a new query
on this path must be a decision, so these fail when one is added. A study with 20,000 trials
stored issues a trial with the same queries as a fresh one, none of them counting the study's
trials; and every crop was rendered before the rater asked, so the images are streamed with
Pillow switched off.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from evalsite.rating import assignment, imaging, selectors, serving
from evalsite.rating.files import study_files
from evalsite.rating.models import Judgment, PairCount, Rater, Trial
from evalsite.rating.services import issue_trial, record_judgment
from evalsite.rating.serving import render_study_crops

TOKEN = re.compile(r'name="trial" value="([^"]+)"')
IMAGE = re.compile(r'src="(/s/[^"]+/img/[^"]+)"')

# One trial's queries: a new comparison page (the rater bound to the live session, with its study;
# judged so far; the locked transaction: rater, pending trial, history, tally, tally +1, insert;
# BEGIN and COMMIT count too; the study's conditions, its references' crop boxes, and its files
# whose names the image URLs seal, are read once per process), the same page again, each image
# (none: the URL holds the file's sealed name), the submit.
NEW_TRIAL_PAGE = 10
SAME_TRIAL_PAGE = 6
IMAGE_QUERIES = 0
SUBMIT = 11


@pytest.fixture
def study(make_rated_study):
    study = make_rated_study(
        images=3,
        qualities=(10, 30, 50, 70, 90),
        trials_per_rater=30,
        attention_rate=0.0,
        attention_min=0,
        practice_trials=0,
        break_every=0,
    )
    # Every pair of the design has its tally row, as in a running study (the first use of a pair adds its row).
    pairs, _ = assignment.study_design(study)
    PairCount.objects.bulk_create(
        PairCount(study=study, reference_id=p.image, first_id=p.first, second_id=p.second) for p in pairs
    )
    selectors.source_files(study)  # read once per process: a running study's workers hold them
    serving.crop_boxes(study)
    return study


def _one_trial(client, study) -> dict[str, list[str]]:
    """Load a new comparison, reload it, fetch its three images and answer it; the SQL of each request."""
    url = f"/s/{study.slug}/compare/"
    sql: dict[str, list[str]] = {}

    def capture(kind, request):
        with CaptureQueriesContext(connection) as queries:
            response = request()
        sql.setdefault(kind, []).extend(q["sql"] for q in queries)
        sql[f"{kind} count"] = sql.get(f"{kind} count", []) + [str(len(queries))]
        return response

    page = capture("new page", lambda: client.get(url))
    assert page.status_code == 200
    capture("same page", lambda: client.get(url))
    html = page.content.decode()
    for src in IMAGE.findall(html):
        image = capture("image", lambda src=src: client.get(src))
        assert image.status_code == 200 and image.getvalue().startswith(b"\x89PNG")
    token = TOKEN.search(html).group(1)
    data = {"trial": token, "choice": "left", "response_ms": 1500, "switches": 2}
    assert capture("submit", lambda: client.post(url, data)).status_code == 302
    return sql


def _counts(sql: dict[str, list[str]]) -> dict[str, list[int]]:
    return {kind.removesuffix(" count"): [int(n) for n in ns] for kind, ns in sql.items() if kind.endswith(" count")}


@pytest.mark.django_db
def test_one_trial_costs_a_pinned_number_of_queries(client, study, walk_rater):
    walk_rater(study, client=client)
    for _ in range(3):
        counts = _counts(_one_trial(client, study))
        assert counts == {
            "new page": [NEW_TRIAL_PAGE],
            "same page": [SAME_TRIAL_PAGE],
            "image": [IMAGE_QUERIES] * 3,
            "submit": [SUBMIT],
        }


# What an arriving rater's steps before screening cost: the study link (the visit counted for the entry
# limit, and the counts of minutes past deleted; the study, the rater by crowd id and by its hash;
# in a transaction the rater and its event; a new session key, saved twice by Django, and the
# rater bound to it; BEGIN and COMMIT count), and each page and submit after it, all of which find
# the rater in one query.
ARRIVAL = {
    "study link": 17,
    "consent page": 1,
    "consent submit": 7,
    "instructions page": 1,
    "instructions submit": 6,
    "display page": 1,
    "display submit": 7,
}


def _arrive(client, study, pid: str) -> dict[str, int]:
    """One rater from the study link to the colour test; the queries of each request."""
    url = f"/s/{study.slug}"
    display = {"device_pixel_ratio": "1", "window_width": "1920", "window_height": "1080", "zoom_ok": "on"}
    steps = [
        ("study link", lambda: client.get(f"{url}/", {"PROLIFIC_PID": pid})),
        ("consent page", lambda: client.get(f"{url}/consent/")),
        ("consent submit", lambda: client.post(f"{url}/consent/", {"agree": "1"})),
        ("instructions page", lambda: client.get(f"{url}/instructions/")),
        ("instructions submit", lambda: client.post(f"{url}/instructions/")),
        ("display page", lambda: client.get(f"{url}/display/")),
        ("display submit", lambda: client.post(f"{url}/display/", display)),
    ]
    counts = {}
    for name, request in steps:
        with CaptureQueriesContext(connection) as queries:
            response = request()
        assert response.status_code in (200, 302), (name, response.status_code)
        counts[name] = len(queries)
    assert response.url == f"{url}/colour/"
    return counts


@pytest.mark.django_db
def test_an_arriving_raters_steps_before_screening_cost_pinned_queries(study):
    _arrive(Client(), study, "first")  # the first rater's requests read what a process keeps of a launched study
    assert (
        _arrive(Client(REMOTE_ADDR="10.0.0.2"), study, "second") == ARRIVAL
    )  # crowd raters come from their own addresses


def _store_history(study, trials: int) -> None:
    """``trials`` judged compared trials of other raters, with their tally, as a study at paper scale holds."""
    pairs, _ = assignment.study_design(study)
    raters = Rater.objects.bulk_create(Rater(study=study, stage=Rater.Stage.TRIALS) for _ in range(trials // 100))
    rows = [
        Trial(
            rater=raters[i // 100],
            seq=i % 100,
            reference_id=pairs[i % len(pairs)].image,
            a_id=pairs[i % len(pairs)].first,
            b_id=pairs[i % len(pairs)].second,
            shown_left="a",
            crop_x=0,
            crop_y=0,
            crop_w=64,
            crop_h=64,
        )
        for i in range(trials)
    ]
    Trial.objects.bulk_create(rows, batch_size=2000)
    Judgment.objects.bulk_create((Judgment(trial=t, winner="a", response_ms=2000) for t in rows), batch_size=2000)
    tally = Counter(pairs[i % len(pairs)] for i in range(trials))
    for pair, n in tally.items():
        PairCount.objects.filter(study=study, first_id=pair.first, second_id=pair.second).update(issued=n)


@pytest.mark.slow
@pytest.mark.django_db
def test_a_study_with_20000_trials_issues_a_trial_as_cheaply_as_an_empty_one(client, study, walk_rater):
    _store_history(study, 20_000)
    walk_rater(study, client=client)
    sql = _one_trial(client, study)
    assert _counts(sql) == {
        "new page": [NEW_TRIAL_PAGE],
        "same page": [SAME_TRIAL_PAGE],
        "image": [IMAGE_QUERIES] * 3,
        "submit": [SUBMIT],
    }
    # Counting is only ever over one rater's rows, never over the study's trials or judgments.
    counts = [q for kind, qs in sql.items() if not kind.endswith("count") for q in qs if "COUNT(" in q.upper()]
    assert counts, "the pages count the rater's own judgments"
    assert all('"rating_trial"."rater_id" =' in q for q in counts), counts


@pytest.mark.django_db
def test_a_worker_reads_the_studys_files_once(client, make_rated_study, walk_rater):
    study = make_rated_study(images=2, qualities=(20, 60), practice_trials=0, attention_rate=0.0, attention_min=0)
    with CaptureQueriesContext(connection) as screening:
        walk_rater(study, client=client)  # the artifact test names its items' crops from the same files
    first, second = _one_trial(client, study), _one_trial(client, study)
    steps = ([q["sql"] for q in screening], first["new page"], second["new page"])
    reads = [sum('FROM "studies_stimulus"' in q and '"path"' in q for q in sql) for sql in steps]
    assert sum(reads) == 1 and reads[-1] == 0, reads  # the study's stimuli files (its references likewise)


@pytest.mark.django_db
def test_the_tally_matches_the_trials_issued(study, walk_rater):
    PairCount.objects.filter(study=study).delete()  # from nothing, as a new study starts
    for n in range(3):
        rater = walk_rater(study, Rater.Stage.TRIALS, pid=f"t{n}")
        for _ in range(5):
            trial = issue_trial(rater=rater)
            record_judgment(rater=rater, trial_token=trial.token, choice="left", response_ms=1500)
    counted = Counter()
    for trial in Trial.objects.filter(rater__study=study, kind=Trial.Kind.TRIAL):
        counted[(trial.reference_id, min(trial.a_id, trial.b_id), max(trial.a_id, trial.b_id))] += 1
    assert {(r, a, b): n for r, a, b, n in selectors.issued_pairs(study)} == counted
    assert selectors.issued_count(study) == 15


def _refuse(*args, **kwargs):
    raise AssertionError("an image was decoded or encoded inside a rater's request")


@pytest.mark.django_db
def test_no_crop_is_rendered_inside_a_raters_request(client, study, walk_rater, monkeypatch):
    # prepare_rater_stimuli (make_rated_study) rendered every crop at generation; from here on Pillow is off.
    monkeypatch.setattr("PIL.Image.open", _refuse)
    monkeypatch.setattr(imaging, "encode_png", _refuse)
    monkeypatch.setattr(imaging, "render_crop", _refuse)
    walk_rater(study, client=client)
    for _ in range(3):
        _one_trial(client, study)
    instructions = client.get(f"/s/{study.slug}/instructions/", follow=True)
    assert instructions.status_code == 200


@pytest.mark.django_db
def test_a_crop_is_rendered_once_by_the_page_that_shows_it_when_generation_did_not(
    client, study, walk_rater, monkeypatch
):
    walk_rater(study, client=client)
    files = study_files()
    folders, _ = files.listdir("crops")
    for folder in folders:
        for name in files.listdir(f"crops/{folder}")[1]:
            files.delete(f"crops/{folder}/{name}")
    rendered = []
    real = imaging.render_crop
    monkeypatch.setattr(imaging, "render_crop", lambda *a: rendered.append(a) or real(*a))
    urls = IMAGE.findall(client.get(f"/s/{study.slug}/compare/").content.decode())
    assert len(rendered) == 3
    first = [client.get(url).getvalue() for url in urls]
    assert all(image.startswith(b"\x89PNG") for image in first) and len(rendered) == 3  # images render nothing
    again = IMAGE.findall(client.get(f"/s/{study.slug}/compare/").content.decode())
    assert again == urls and [client.get(url).getvalue() for url in again] == first and len(rendered) == 3


@pytest.mark.django_db
def test_render_study_crops_covers_every_reference_and_stimulus_and_skips_stored_ones(study, monkeypatch):
    sources = study.references.count() + study.stimuli.count()
    assert render_study_crops(study) == sources
    monkeypatch.setattr(imaging, "render_crop", _refuse)  # all stored already
    assert render_study_crops(study) == sources


@pytest.mark.django_db
def test_an_image_is_streamed_with_private_long_caching_and_no_stored_name(client, study, walk_rater):
    walk_rater(study, client=client)
    page = client.get(f"/s/{study.slug}/compare/").content.decode()
    response = client.get(IMAGE.findall(page)[0])
    assert response.streaming and response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, max-age=86400, immutable"
    assert response["Content-Disposition"] == 'inline; filename="image.png"'  # not the crop's hash


@pytest.mark.django_db
def test_the_worked_example_reads_the_studys_conditions_once_per_process_and_its_images_nothing(
    client, study, walk_rater
):
    walk_rater(study, Rater.Stage.INSTRUCTIONS, client=client)
    counts, reads = [], []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            page = client.get(f"/s/{study.slug}/instructions/")
        assert page.status_code == 200
        counts.append(len(queries))
        reads.append(sum('FROM "studies_stimulus"' in q["sql"] and '"role" =' in q["sql"] for q in queries))
    assert reads[0] <= 1 and reads[1] == 0, reads  # a launched study's conditions are frozen
    assert counts[1] == 1, counts  # the rater with its study (the crop box and the files are kept)
    urls = IMAGE.findall(page.content.decode())
    assert len(urls) == 3
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).getvalue().startswith(b"\x89PNG")
        assert len(queries) == 0
