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
from babel.numbers import format_compact_decimal, format_percent
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from flows.analytics import Cohort, MonthRevenue

NEW_COLOUR = "#f4a259"
RETURNING_COLOUR = "#2a9d8f"
DPI = 100


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _month(value: object, language: str) -> str:
    return format_date(value, "LLL yy", locale=language)  # type: ignore[arg-type]


def revenue_chart(months: Sequence[MonthRevenue], currency: str, language: str) -> bytes:
    """Stacked monthly bars: revenue from first purchases (new customers) under the rest (returning)."""
    figure = Figure(figsize=(8, 4.2))
    axes = figure.add_subplot()
    labels = [_month(m.month, language) for m in months]
    new = [float(m.new) for m in months]
    returning = [float(m.returning) for m in months]
    axes.bar(labels, new, color=NEW_COLOUR, label="new customers (first purchase)")
    axes.bar(labels, returning, bottom=new, color=RETURNING_COLOUR, label="returning customers")
    axes.set_title(f"Revenue per month, {currency}")
    axes.yaxis.set_major_formatter(
        FuncFormatter(lambda value, _: format_compact_decimal(value, locale=language, fraction_digits=1))
    )
    axes.tick_params(axis="x", labelrotation=45, labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    if any(new) or any(returning):
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False, fontsize=8)
    else:
        axes.text(0.5, 0.5, "no purchases yet", ha="center", va="center", transform=axes.transAxes, alpha=0.6)
    return _png(figure)


def cohort_chart(cohorts: Sequence[Cohort], language: str) -> bytes:
    """Heat map: rows are the months of first purchase, columns months since; cells the share who bought."""
    size = max(len(cohorts), 1)
    figure = Figure(figsize=(9, 1.2 + 0.42 * size))
    axes = figure.add_subplot()
    grid = [[_share(c, offset) for offset in range(size)] for c in cohorts]
    masked = [[value if value is not None else float("nan") for value in row] for row in grid]
    # Month 0 is 100 % by definition; scale the colours to the later months so their differences show.
    later = [value for row in grid for value in row[1:] if value is not None]
    top = max(later, default=1.0) or 1.0
    axes.imshow(masked or [[float("nan")]], cmap="YlGn", vmin=0, vmax=top, aspect="auto")
    for y, row in enumerate(grid):
        for x, value in enumerate(row):
            if value is not None:
                axes.text(
                    x,
                    y,
                    format_percent(value, locale=language),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if value > 0.6 * top else "black",
                )
    axes.set_title("Customers who bought again, by month of their first purchase")
    axes.set_xlabel("months after the first purchase")
    axes.set_xticks(range(size))
    axes.set_yticks(range(len(cohorts)))
    axes.set_yticklabels([f"{_month(c.month, language)} ({c.size})" for c in cohorts], fontsize=8)
    axes.tick_params(axis="x", labelsize=8)
    if not any(c.size for c in cohorts):
        axes.text(0.5, 0.5, "no purchases yet", ha="center", va="center", transform=axes.transAxes, alpha=0.6)
    return _png(figure)


def _share(cohort: Cohort, offset: int) -> float | None:
    if not cohort.size or offset >= len(cohort.active):
        return None
    return cohort.active[offset] / cohort.size
