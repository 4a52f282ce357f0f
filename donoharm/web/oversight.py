"""Oversight for supervisors: a period's runs, outcomes, red flags, follow-ups, outcome measures and problem
steps, as a page, a chart and CSV."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import partial

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import oversight
from ..accounts.auth import roles_required
from ..db import get_db
from ..db import oversight as oversight_db
from ..runs import policy
from ..services.library import get_registry

bp = Blueprint("oversight", __name__)


def period_filters(args) -> tuple[date, date, str, dict[str, str]]:
    """The period (inclusive UTC days; default the last 365) and protocol, with a message per bad value."""
    problems = {}
    today = datetime.now(UTC).date()
    values = {"until": today, "since": today - timedelta(days=364)}
    for key in ("since", "until"):
        raw = args.get(key)
        if raw:
            try:
                values[key] = date.fromisoformat(raw)
            except ValueError:
                problems[key] = _("Give a date as YYYY-MM-DD.")
    if values["since"] > values["until"]:
        problems["until"] = _("The end of the period is before its start.")
    protocol = args.get("protocol") or ""
    if protocol and protocol not in get_registry().ids():
        problems["protocol"], protocol = _("Choose a protocol from the list."), ""
    return values["since"], values["until"], protocol, problems


def step_text(protocol_id: str, step_id: str, translated: dict | None = None) -> str:
    """A step's text in the newest version that has it (step ids are stable across versions), in the reader's
    language when the protocol has it. `translated` keeps the versions already put in that language."""
    translated = {} if translated is None else translated
    for protocol in reversed(get_registry().versions(protocol_id)):
        if protocol.step(step_id) is not None:
            key = (protocol.id, protocol.version)
            if key not in translated:
                translated[key] = protocol.in_language(str(get_locale()))
            return translated[key].step(step_id).text
    return step_id


# The outcome measures the shipped protocols use, named in the reader's language. A measure not listed here is
# named by its step's text in the reader's language (protocols are translated; measure ids are not).
MEASURE_NAMES = {
    "people-present": _l("People present"), "people-informed": _l("People told what happens"),
    "people-screened-in-private": _l("People screened in private"),
    "people-offered-services": _l("People offered services"), "people-referred": _l("People referred to services"),
    "people-arrested": _l("People arrested"), "potential-victims-arrested": _l("Potential victims arrested"),
    "possible-minors-present": _l("Possible minors present"), "suspects-arrested": _l("Suspects arrested"),
    "misconduct-incidents": _l("Incidents of officer misconduct"),
    "foreign-nationals-present": _l("Foreign nationals present"),
    "foreign-nationals-screened": _l("Foreign nationals screened"),
    "foreign-nationals-identified": _l("Foreign nationals identified as potential victims"),
    "foreign-nationals-detained": _l("Foreign nationals detained"),
    "foreign-nationals-removed": _l("Foreign nationals removed"),
}


def measure_name(measure: str | None, step_text: str) -> str:
    return str(MEASURE_NAMES[measure]) if measure in MEASURE_NAMES else step_text


def measure_info(protocol_id: str, measure: str) -> dict:
    """The step reporting an outcome measure in the newest version that has it (its text in the reader's
    language), and the step it is counted against (its denominator), if any."""
    for newest in reversed(get_registry().versions(protocol_id)):
        protocol = newest.in_language(str(get_locale()))
        for position, step in enumerate(protocol.steps):
            if step.measure != measure:
                continue
            info = {"step_id": step.id, "text": step.text, "position": position,
                    "label": measure_name(measure, step.text)}
            of = protocol.step(step.of) if step.of else None
            if of is not None:
                info.update(of_step_id=of.id, of_text=of.text, of_label=measure_name(of.measure, of.text))
            return info
    return {"step_id": "", "text": "", "label": measure_name(measure, measure)}


def figures_for(since: date, until: date, protocol: str) -> oversight.Figures:
    """Read the period's summary rows and combine them."""
    db, first, last = get_db(), since.isoformat(), until.isoformat()
    return oversight.build_figures(
        oversight_db.started_by_version(db, first, last, protocol or None),
        oversight_db.outcomes_by_version(db, first, last, protocol or None),
        oversight.submission_medians(oversight_db.submit_seconds(db, first, last, protocol or None)),
        oversight_db.step_figures(db, first, last, protocol or None),
        partial(step_text, translated={}), current_app.config["OVERSIGHT_MIN_COUNT"],
        oversight_db.measure_figures(db, first, last, protocol or None), measure_info)


@bp.get("/oversight")
@roles_required(*policy.REVIEWERS)
def index():
    """Figures for a period and protocol: runs, outcome measures, red flags, follow-ups, and a chart of the most
    problematic steps."""
    since, until, protocol, problems = period_filters(request.args)
    threshold = current_app.config["OVERSIGHT_MIN_COUNT"]
    figures = figures_for(since, until, protocol)
    chart = oversight.bar_chart(figures.steps, threshold, {
        "title": _("Red flags, deviations and not-applicable answers per step, most problematic first"),
        "flagged": _("Red flag"), "deviated": _("Deviated"), "na": _("Not applicable"),
        "empty": _("No submitted runs in this period.")})
    measures = [(m, oversight.measure_cells(m, threshold)) for m in figures.measures]
    return render_template("oversight/index.html", figures=figures, chart=chart, since=since, until=until,
                           protocol=protocol, problems=problems, threshold=threshold, measures=measures,
                           protocols=get_registry().ids(), cell=lambda n: oversight.suppress(n, threshold)), \
        400 if problems else 200


@bp.get("/oversight.csv")
@roles_required(*policy.REVIEWERS)
def export():
    """The same figures as CSV, small counts suppressed."""
    since, until, protocol, problems = period_filters(request.args)
    if problems:
        return Response("\n".join(problems.values()) + "\n", 400, mimetype="text/plain")
    threshold = current_app.config["OVERSIGHT_MIN_COUNT"]
    body = oversight.to_csv(figures_for(since, until, protocol), since.isoformat(), until.isoformat(),
                            protocol or None, threshold)
    name = f"oversight-{protocol or 'all'}-{since.isoformat()}-{until.isoformat()}.csv"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
