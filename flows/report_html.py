"""The HTML report: the same `Stats` and charts as /stats, as one self-contained page.

Charts are embedded as base64 PNG data URIs and the style sheet is inline, so the file opens in any
browser with no network and can be mailed as it is.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime, tzinfo

from babel.dates import format_datetime

from flows.analytics import Stats
from flows.stats_render import COHORT_CAPTION, REVENUE_CAPTION, sections

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2a2f;
       max-width: 960px; margin: 2rem auto; padding: 0 1rem; background: #fbfaf7; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
.meta { color: #5b6b70; margin-top: 0; }
section { background: #fff; border: 1px solid #e6e2da; border-radius: 10px; padding: .8rem 1.2rem;
          margin: 1rem 0; }
h2 { font-size: 1.1rem; margin: .3rem 0 .6rem; }
table { border-collapse: collapse; width: 100%; }
td { padding: .25rem .4rem; border-bottom: 1px solid #f0ede6; vertical-align: top; }
td.value { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
p.note { color: #5b6b70; font-size: .9rem; margin: .5rem 0 .2rem; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; }
figcaption { color: #5b6b70; font-size: .9rem; }
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def render_report(
    stats: Stats,
    business: str,
    zone: tzinfo,
    language: str,
    revenue_png: bytes,
    cohort_png: bytes,
    generated: datetime,
) -> str:
    """The report page as a string of HTML."""
    parts = [
        "<!doctype html>",
        f'<html lang="{_e(language)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(business)} — nurture-bot report</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(business)}</h1>",
        f'<p class="meta">nurture-bot report, made {_e(format_datetime(generated.astimezone(zone), "medium", locale=language))}</p>',
    ]
    for section in sections(stats, zone, language):
        rows = "".join(
            f'<tr><td>{_e(label)}</td><td class="value">{_e(value)}</td></tr>' for label, value in section.rows
        )
        note = f'<p class="note">{_e(section.note)}</p>' if section.note else ""
        parts.append(f"<section><h2>{_e(section.title)}</h2><table>{rows}</table>{note}</section>")
    for title, png, caption in (
        ("Revenue from new and returning customers", revenue_png, REVENUE_CAPTION),
        ("Cohort retention", cohort_png, COHORT_CAPTION),
    ):
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<section><h2>{_e(title)}</h2><figure><img alt="{_e(title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(caption)}</figcaption></figure></section>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
