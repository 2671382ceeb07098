"""Every model of the app has a working admin list, and a live study's stimuli are read-only there."""

from __future__ import annotations

import pytest

from evalsite.studies.models import Study
from evalsite.studies.services import launch_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_with_study(client, django_user_model, make_study):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123")
    study = make_study(state=Study.State.DRAFT)
    launch_study(study=study, actor=admin)
    client.force_login(admin)
    return client, study


@pytest.mark.parametrize("model", ["study", "reference", "stimulus", "studyevent"])
def test_the_admin_lists_every_model(admin_client_with_study, model):
    client, study = admin_client_with_study
    response = client.get(f"/admin/studies/{model}/")
    assert response.status_code == 200
    assert study.slug in response.content.decode()


def test_a_live_studys_stimuli_cannot_be_changed_in_the_admin(admin_client_with_study):
    client, study = admin_client_with_study
    stimulus = study.stimuli.first()
    response = client.post(f"/admin/studies/stimulus/{stimulus.pk}/change/", {"bpp": "9", "codec": "x", "level": 0})
    stimulus.refresh_from_db()
    assert response.status_code in (403, 200)
    assert stimulus.bpp != 9
