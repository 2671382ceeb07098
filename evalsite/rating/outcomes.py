"""How a rater's session ends, and the code and redirect each end gives them (no database writes).

Five outcomes, each with a code and a redirect back to the crowd platform, from the study file's
``[completion.<outcome>]`` tables (docs/studies.md, "Outcomes"):

- ``completed``: finished the comparisons (``[completion] code/redirect`` is this one);
- ``screened_out``: failed a screening test;
- ``excluded``: excluded (attention checks, or by the researcher);
- ``declined``: did not consent;
- ``refused_device``: a phone or tablet, or a screen the study refuses (pixel ratio).

A code the study file leaves empty is **study-wide**, never per rater: a crowd platform matches
the code a participant pastes against the codes the researcher registered, so every rater with
the same outcome must get the same one. It is derived from the server's secret, the study and the
outcome (stable for the study's life, different per outcome, not guessable from the study link),
and the study page lists every code to copy into the platform. A redirect left empty falls back
to the completed outcome's redirect, with this outcome's code substituted for ``{code}``: one
Prolific URL (``.../submissions/complete?cc={code}``) then serves every outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from django.utils.crypto import salted_hmac

from evalsite.studies.models import Study

OUTCOMES = tuple(Study.Outcome.values)
COMPLETED, SCREENED_OUT, EXCLUDED, DECLINED, REFUSED_DEVICE = OUTCOMES


@dataclass(frozen=True)
class Outcome:
    """What a rater who ended with ``name`` is shown: a code and a link back to the platform ('' if none)."""

    name: str
    code: str
    redirect: str
    configured: bool  # the code came from the study file (else derived)


def default_code(study: Study, outcome: str) -> str:
    """The study-wide code of ``outcome`` when the study file gives none: 8 characters, A-Z and 0-9."""
    digest = salted_hmac("pico.rating.outcome", f"{study.pk}:{study.slug}:{outcome}", algorithm="sha256").hexdigest()
    return digest[:8].upper()


def configured(study: Study, outcome: str) -> dict[str, str]:
    """The ``code`` and ``redirect`` the study file set for ``outcome`` (either may be missing)."""
    if outcome == COMPLETED:
        entry = {"code": study.completion_code, "redirect": study.completion_redirect}
        return {k: v for k, v in entry.items() if v}
    return {k: v for k, v in (study.outcomes or {}).get(outcome, {}).items() if v}


def outcome(study: Study, name: str) -> Outcome:
    """The code and redirect of outcome ``name`` in ``study`` (``{code}`` substituted, URL-quoted)."""
    if name not in OUTCOMES:
        raise ValueError(f"unknown outcome {name!r}; expected one of {', '.join(OUTCOMES)}")
    entry = configured(study, name)
    code = entry.get("code") or default_code(study, name)
    template = entry.get("redirect") or study.completion_redirect
    return Outcome(name, code, template.replace("{code}", quote(code, safe="")), configured="code" in entry)


def all_outcomes(study: Study) -> list[Outcome]:
    """Every outcome of ``study``, in the documented order (for the study page)."""
    return [outcome(study, name) for name in OUTCOMES]
