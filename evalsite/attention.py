"""How many attention checks a rater's session holds: one rule for the researcher's and the rater's side.

Pure (no Django), beside ``evalsite/errors.py``: both ``studies`` and ``rating`` use it, and
neither may import the other's modules for it.
"""

from __future__ import annotations


def most_attention_checks(*, trials_per_rater: int, attention_rate: float, attention_min: int) -> int:
    """Attention checks in a full session: ``max(attention_min, round(trials x rate))``, never all of it.

    The rule of docs/studies.md, written once: the study file's checks (``studies/config.py``) and
    the rater's session plan (``rating/scheduler.py: plan_session``) both call it; a session the
    pair design shortens gets fewer (never fewer than ``attention_min``, room permitting).
    """
    if trials_per_rater < 2:
        return 0
    return min(trials_per_rater - 1, max(attention_min, round(trials_per_rater * attention_rate)))
