"""The two pictures of /stats and the report, as PNG bytes (matplotlib, Agg backend, no pyplot state).

Figures are built with `matplotlib.figure.Figure` and rendered by the Agg canvas directly, so nothing
touches a display or pyplot's global state and two renders can run in threads at once.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: never look for a display

from babel.dates import format_date
from babel.numbers import format_compact_decimal, format_percent, get_currency_symbol
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from flows.analytics import Cohort, MonthRevenue
from flows.i18n import N_, translator

# The pictures' words, from the team's catalogue (flows/i18n.py) in the reader's language, so that titles
# and month names never mix languages.
WORDS = {
    "revenue": N_("Revenue per month, {currency}"),
    "new": N_("new customers (first purchase)"),
    "returning": N_("returning customers"),
    "empty": N_("no purchases yet"),
    "cohorts": N_("Customers who bought again, by month of their first purchase"),
    "after": N_("months after the first purchase"),
}
NEW_COLOUR = "#f4a259"
RETURNING_COLOUR = "#2a9d8f"
DPI = 100


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _words(language: str) -> dict[str, str]:
    """The charts' words in `language` (English where we have no catalogue)."""
    tr = translator(language)
    return {key: tr.gettext(text) for key, text in WORDS.items()}


def _locale(language: str) -> str:
    """A language without a catalogue gets English month names too, to match its English words."""
    return language if translator(language).language != "en" or language.startswith("en") else "en"


def _month(value: object, language: str) -> str:
    return format_date(value, "LLL yy", locale=_locale(language))  # type: ignore[arg-type]


def revenue_chart(months: Sequence[MonthRevenue], currency: str, language: str) -> bytes:
    """Stacked monthly bars: revenue from first purchases (new customers) under the rest (returning)."""
    figure = Figure(figsize=(8, 4.2))
    axes = figure.add_subplot()
    words = _words(language)
    labels = [_month(m.month, language) for m in months]
    new = [float(m.new) for m in months]
    returning = [float(m.returning) for m in months]
    axes.bar(labels, new, color=NEW_COLOUR, label=words["new"])
    axes.bar(labels, returning, bottom=new, color=RETURNING_COLOUR, label=words["returning"])
    locale = _locale(language)
    axes.set_title(
        words["revenue"].format(currency=get_currency_symbol(currency, locale=locale))
    )  # as money is written
    axes.yaxis.set_major_formatter(
        FuncFormatter(lambda value, _: format_compact_decimal(value, locale=locale, fraction_digits=1))
    )
    axes.tick_params(axis="x", labelrotation=45, labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    if any(new) or any(returning):
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False, fontsize=8)
    else:
        axes.text(0.5, 0.5, words["empty"], ha="center", va="center", transform=axes.transAxes, alpha=0.6)
    return _png(figure)


def cohort_chart(cohorts: Sequence[Cohort], language: str) -> bytes:
    """Heat map: rows are the months of first purchase, columns months 1, 2, … after it; cells the share
    of the row's customers who bought in that month.

    Month 0 is left out: every customer bought in the month of their first purchase, so it always read
    100 % under a title about buying *again*, and it squeezed the colours of the months that matter."""
    words, locale = _words(language), _locale(language)
    size = max(len(cohorts) - 1, 1)
    offsets = range(1, size + 1)
    figure = Figure(figsize=(9, 1.2 + 0.42 * max(len(cohorts), 1)))
    axes = figure.add_subplot()
    grid = [[_share(c, offset) for offset in offsets] for c in cohorts]
    masked = [[value if value is not None else float("nan") for value in row] for row in grid]
    later = [value for row in grid for value in row if value is not None]
    top = max(later, default=1.0) or 1.0
    axes.imshow(masked or [[float("nan")]], cmap="YlGn", vmin=0, vmax=top, aspect="auto")
    for y, row in enumerate(grid):
        for x, value in enumerate(row):
            if value is not None:
                axes.text(
                    x,
                    y,
                    format_percent(value, locale=locale),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if value > 0.6 * top else "black",
                )
    axes.set_title(words["cohorts"])
    axes.set_xlabel(words["after"])
    axes.set_xticks(range(size), [str(offset) for offset in offsets])
    axes.set_yticks(range(len(cohorts)))
    axes.set_yticklabels([f"{_month(c.month, language)} ({c.size})" for c in cohorts], fontsize=8)
    axes.tick_params(axis="x", labelsize=8)
    if not any(c.size for c in cohorts):
        axes.text(0.5, 0.5, words["empty"], ha="center", va="center", transform=axes.transAxes, alpha=0.6)
    return _png(figure)


def _share(cohort: Cohort, offset: int) -> float | None:
    if not cohort.size or offset >= len(cohort.active):
        return None
    return cohort.active[offset] / cohort.size
