"""The HTML report: the same `Stats` and charts as /stats, as one self-contained page.

Charts are embedded as base64 PNG data URIs and the style sheet is inline, so the file opens in any
browser with no network and can be mailed as it is.
"""

from __future__ import annotations

import base64
from datetime import datetime, tzinfo

from flows.analytics import Stats
from flows.formatting import datetime as local_datetime
from flows.i18n import Translator, translator
from flows.markup import Html, html, trusted
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


def render_report(
    stats: Stats,
    business: str,
    zone: tzinfo,
    language: str,
    revenue_png: bytes,
    cohort_png: bytes,
    generated: datetime,
) -> Html:
    """The report page as HTML; every value (the business name, titles, figures) is escaped."""
    made = local_datetime(generated, language, zone)
    tr = translator(language)
    parts = [
        html("<!doctype html>"),
        html('<html lang="{}"><head><meta charset="utf-8">', language),
        html('<meta name="viewport" content="width=device-width, initial-scale=1">'),
        html("<title>{}</title><style>{}</style></head><body>", _title(tr, business), trusted(STYLE)),
        html("<h1>{}</h1>", business),
        html('<p class="meta">{}</p>', tr.gettext("nurture-bot report, made {moment}").format(moment=made)),
    ]
    for section in sections(stats, zone, language):
        rows = Html().join(html('<tr><td>{}</td><td class="value">{}</td></tr>', *row) for row in section.rows)
        note = html('<p class="note">{}</p>', section.note) if section.note else Html()
        parts.append(html("<section><h2>{}</h2><table>{}</table>{}</section>", section.title, rows, note))
    for title, png, caption in (
        (tr.gettext("Revenue from new and returning customers"), revenue_png, tr.gettext(REVENUE_CAPTION)),
        (tr.gettext("Cohort retention"), cohort_png, tr.gettext(COHORT_CAPTION)),
    ):
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            html(
                '<section><h2>{0}</h2><figure><img alt="{0}" src="data:image/png;base64,{1}">'
                "<figcaption>{2}</figcaption></figure></section>",
                title,
                data,
                caption,
            )
        )
    parts.append(html("</body></html>"))
    return Html("\n").join(parts)


def _title(tr: Translator, business: str) -> str:
    return tr.gettext("{business} — nurture-bot report").format(business=business)
