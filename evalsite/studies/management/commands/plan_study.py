"""``python manage.py plan_study SLUG``: the plan of the study page, computed here (simulations included)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import QueryDict

from evalsite.studies import planning
from evalsite.studies.forms import PlanForm
from evalsite.studies.models import Study


class Command(BaseCommand):
    help = (
        "Judgments and raters for a target 95% BD-rate interval width, minutes and pay per rater, total cost and "
        "time to finish (docs/studies.md, 'Plan and cost')."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--target-width", help=f"points (default {planning.DEFAULT_TARGET_WIDTH:g})")
        parser.add_argument("--seconds-per-trial", help="default: the pilot's median, else 4")
        parser.add_argument("--hourly-rate", help=f"pay per hour (default {planning.DEFAULT_HOURLY_RATE:g})")
        parser.add_argument("--currency", help=f"default {planning.DEFAULT_CURRENCY}")
        parser.add_argument("--arrivals-per-hour", help=f"raters (default {planning.DEFAULT_ARRIVALS_PER_HOUR:g})")
        parser.add_argument("--pilot", help="slug of a study whose judgments give the curves and timings")

    def handle(self, *args, slug: str, **options) -> None:
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            known = ", ".join(Study.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"no study with slug {slug!r}; known studies: {known}")
        given = QueryDict(mutable=True)
        for name in PlanForm.base_fields:
            if options.get(name) is not None:
                given[name] = options[name]
        others = list(Study.objects.filter(slug=options["pilot"]).exclude(pk=study.pk)) if options["pilot"] else []
        form = PlanForm(given, studies=others)
        if not form.is_valid():
            problems = "; ".join(f"--{n.replace('_', '-')}: {' '.join(map(str, m))}" for n, m in form.errors.items())
            raise CommandError(problems)
        plan = planning.study_plan(study, form.inputs(), visible=others, compute=True)
        self.stdout.write("\n".join(plan_lines(plan)))


def plan_lines(plan: planning.StudyPlan) -> list[str]:
    """The plan as the study page says it, one fact a line."""
    inputs, costs = plan.inputs, plan.costs
    lines = []
    if plan.curves_source:
        lines.append(f"expected curves: {plan.curves_source}; anchor {plan.anchor}; {plan.design} pair design")
    if costs is not None:
        beyond = " (beyond the simulated sizes)" if plan.extrapolated else ""
        lines += [
            f"judgments: {plan.judgments} for a {inputs.target_width:g}-point 95% BD-rate interval{beyond}",
            f"raters: {costs.raters} completing ({plan.judgments_per_rater} comparisons each), "
            f"about {costs.raters_to_start} starting",
            f"minutes per rater: {costs.minutes_per_rater:.0f} ({plan.trials_per_session} trials at "
            f"{costs.seconds_per_trial:g} s, screening and setup)",
            f"pay per rater: {inputs.currency} {costs.pay_per_rater:.2f} at {inputs.currency} "
            f"{inputs.hourly_rate:.2f} an hour",
            f"total pay: {inputs.currency} {costs.total_cost:.2f}",
            f"time to finish: {costs.time_to_finish} at {inputs.arrivals_per_hour:g} raters an hour",
        ]
    return lines + [f"note: {note}" for note in plan.notes]
