"""Numbers: the /stats figures for any period (a preset or two dates), the two charts, sequences' and
broadcasts' conversion, and the questions the FAQ missed with the same one-tap teaching as /questions.

The figures come from `StatsCache` (flows/stats_cache.py): one `Analytics.stats` per period a minute,
shared by the page, its charts and every manager looking. So that the first render stays fast whatever
the size of the business, a period not yet computed is loaded into the page by htmx (the `figures`
fragment) while the page itself is already shown; a computed one is rendered inline.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from console.app import CONSOLE
from console.auth import redirect, requires
from console.render import Area, render
from console.session import signed_in
from flows.analytics import Period, PeriodError, Stats
from flows.console_access import allows
from flows.faq_teaching import FaqTeaching
from flows.formatting import money, number, percent
from flows.i18n import N_, translator
from flows.stats_cache import CHART_KINDS, StatsCache
from flows.stats_render import COHORT_CAPTION, REVENUE_CAPTION, sections
from flows.team_text import said

routes = web.RouteTableDef()
AREA = Area("/numbers", N_("Numbers"), "manager", 40)

PRESETS = {
    "7d": N_("7 days"),
    "30d": N_("30 days"),
    "90d": N_("90 days"),
    "365d": N_("365 days"),
    "month": N_("This month"),
    "year": N_("This year"),
    "all": N_("All time"),
}
# PeriodError.problem → what is shown next to the date fields.
PERIOD_PROBLEMS = {
    "unknown": N_("Choose a period above, or a first and a last day."),
    "start": N_("The first day is not a date. Write it as 2026-01-05 or 05.01.2026."),
    "end": N_("The last day is not a date. Write it as 2026-01-05 or 05.01.2026."),
    "reversed": N_("The last day is before the first."),
    "future": N_("The first day is after today."),
}
LESSONS = {
    "taught": N_("Done: these questions are answered by that entry from now on."),
    "declined": N_("Done: similar questions are now “not our topic”."),
    "added": N_("Done: the new entry answers these questions from now on."),
    "stale": N_("Already handled, or no longer asked."),
    "unknown_entry": N_("That entry is no longer in the FAQ."),
}
QUESTION_DAYS = 30
CHOOSE_ENTRY = N_("Choose the entry that answers these questions.")


def _cache(request: web.Request) -> StatsCache:
    return request.app[CONSOLE].services["stats_cache"]  # type: ignore[no-any-return]


def _chosen(request: web.Request) -> tuple[Period | None, str | None, dict[str, str]]:
    """The period the address asks for: `period=30d`, or `from`/`to` (two local days, both included).
    Returns it (or None with the problem's words) and the values to put back into the form."""
    cache, query = _cache(request), request.query
    first, last = query.get("from", "").strip(), query.get("to", "").strip()
    form = {"period": query.get("period", ""), "from": first, "to": last}
    try:
        if first or last:
            return cache.date_range(first, last), None, form
        return cache.period(query.get("period") or None), None, form
    except PeriodError as error:
        return None, PERIOD_PROBLEMS.get(error.problem, PERIOD_PROBLEMS["unknown"]), form


def _query(period: Period) -> str:
    """The address's query that names `period` again (for the charts and the fragment)."""
    if period.days is not None:
        return urlencode({"from": period.days[0].isoformat(), "to": period.days[1].isoformat()})
    return urlencode({"period": period.key})


@routes.get("/numbers")
@requires("manager")
async def numbers_page(request: web.Request) -> web.StreamResponse:
    """The period picker and, once computed, the figures and charts of the chosen period."""
    person = signed_in(request)
    period, problem, form = _chosen(request)
    cache = _cache(request)
    stats = None
    if period is not None:  # without script (`wait`), the page waits for the figures itself
        stats = await cache.stats(period) if request.query.get("wait") else cache.ready(period)
    return render(
        request,
        "numbers.html",
        current_tab="figures",
        presets=PRESETS,
        current_period=period.key if period is not None and period.days is None else "",
        form=form,
        problem=problem,
        query=_query(period) if period is not None else "",
        figures=_figures(request, stats, person.language) if stats is not None else None,
        can_teach=allows(person.role, "owner"),
    )


@routes.get("/numbers/figures")
@requires("manager")
async def figures_fragment(request: web.Request) -> web.StreamResponse:
    """The figures of a period as a fragment of the page (what htmx puts in place of "computing…")."""
    person = signed_in(request)
    period, problem, _ = _chosen(request)
    if period is None:
        return render(request, "numbers_problem.html", problem=problem)
    stats = await _cache(request).stats(period)
    return render(request, "numbers_figures.html", figures=_figures(request, stats, person.language))


@routes.get("/numbers/chart/{name:[^/]+}")  # revenue.png, cohorts.png
@requires("manager")
async def chart(request: web.Request) -> web.StreamResponse:
    """A period's revenue or cohort picture, in the reader's language (drawn once per period a minute)."""
    person = signed_in(request)
    kind = request.match_info["name"].removesuffix(".png")
    period, _, _ = _chosen(request)
    if period is None or kind not in CHART_KINDS:
        raise web.HTTPNotFound()
    png = await _cache(request).chart(period, kind, person.language)
    # Private (figures are the business's own) and short-lived, like the cache behind it.
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=60"})


def _figures(request: web.Request, stats: Stats, language: str) -> dict[str, object]:
    """What the figures' template shows: headline cards, every /stats section, the charts' addresses."""
    zone = request.app[CONSOLE].services["settings"].zone
    cash = stats.currency
    cards = [
        (N_("Revenue"), money(stats.revenue, cash, language)),
        (N_("Purchases"), number(stats.purchases, language)),
        (N_("Average check"), "—" if stats.average_check is None else money(stats.average_check, cash, language)),
        (N_("Purchase frequency"), "—" if stats.frequency is None else number(stats.frequency, language)),
        (N_("Repeat purchase rate"), percent(stats.repeat_rate, language)),
        (
            N_("Lifetime value"),
            "—" if stats.lifetime.historical is None else money(stats.lifetime.historical, cash, language),
        ),
    ]
    return {
        "cards": cards,
        "sections": sections(stats, zone, language),
        "query": _query(stats.period),
        # In Python, not the template's gettext: the captions hold a literal "%".
        "revenue_caption": translator(language).gettext(REVENUE_CAPTION),
        "cohort_caption": translator(language).gettext(COHORT_CAPTION),
    }


# --- questions the FAQ missed -------------------------------------------------------------------


def _teaching(request: web.Request) -> FaqTeaching:
    return request.app[CONSOLE].services["faq_teaching"]  # type: ignore[no-any-return]


@routes.get("/numbers/questions")
@requires("manager")
async def questions_page(request: web.Request) -> web.StreamResponse:
    """What customers asked and the FAQ missed or was unsure of, grouped, with the teaching actions."""
    done = LESSONS.get(request.query.get("done", ""))
    return await _questions(request, done=done)


async def _questions(
    request: web.Request,
    *,
    done: str | None = None,
    problem: str = "",
    field: str = "answer",
    question: int = 0,
    answer: str = "",
) -> web.Response:
    person = signed_in(request)
    faq = request.app[CONSOLE].services["faq"]
    default = faq.content.business.default_language
    groups = await _teaching(request).groups(QUESTION_DAYS)
    entries = [(entry.id, entry.label(person.language, default)) for entry in faq.entries]
    titles = dict(entries)
    return render(
        request,
        "numbers_questions.html",
        current_tab="questions",
        status=400 if problem else 200,
        groups=[
            {
                "id": group.representative.id,
                "ids": {q.id for q in group.questions},
                "count": group.count,
                "text": group.representative.text,
                "others": [text for text, _ in group.texts()[1:6]],
                "likely": [(entry, titles[entry]) for entry in group.entries if entry in titles],
            }
            for group in groups
        ],
        entries=entries,
        days=QUESTION_DAYS,
        done=done,
        problem=problem,
        problem_field=field,
        problem_for=question,
        answer=answer,
        can_teach=allows(person.role, "owner"),
    )


@routes.post("/numbers/questions/teach")
@requires("owner")
async def teach(request: web.Request) -> web.StreamResponse:
    """One teaching action on a group (found again from one of its questions, as the bot's buttons do):
    `means` an entry, `not_ours`, or a `new` entry with the answer typed in the form."""
    person = signed_in(request)
    form = await request.post()
    teaching = _teaching(request)
    try:
        question = int(str(form.get("q", "")))
    except ValueError:
        raise web.HTTPBadRequest() from None
    action = str(form.get("action", ""))
    answer = str(form.get("answer", ""))
    entry = str(form.get("entry", ""))
    if action == "means" and not entry:
        problem = translator(person.language).gettext(CHOOSE_ENTRY)
        return await _questions(request, problem=problem, field="entry", question=question)
    if action == "means":
        lesson = await teaching.means(question, entry, person.tg_id)
    elif action == "not_ours":
        lesson = await teaching.not_our_topic(question, person.tg_id)
    elif action == "new":
        lesson = await teaching.new_entry(question, answer, person.tg_id)
    else:
        raise web.HTTPBadRequest()
    if lesson.status == "invalid":  # shown next to the answer, which is kept
        problem = said(lesson.problem).text(translator(person.language))
        return await _questions(request, problem=problem, question=question, answer=answer)
    outcome = (
        {"means": "taught", "not_ours": "declined"}.get(action, "added")
        if lesson.status == "done"
        else lesson.status
    )
    return redirect(request.app[CONSOLE].url(f"/numbers/questions?{urlencode({'done': outcome})}"))
