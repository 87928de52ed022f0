"""What a content version changed, in one line: written in English with the version, shown in the reader's.

The editors store a short summary with every version ("FAQ: prices", "sequence welcome: step 2 saved"),
in English like a commit message, so that the command line and the database read plainly. The console's
history shows it in the owner's language: a stored summary that matches one of the forms below is read
back into that form's values and translated; anything else (a summary someone typed) is shown as written.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from flows.i18n import N_
from flows.team_text import TeamText

# Most specific first: "FAQ: {entry} removed" before "FAQ: {entry}". A value is one word (ids, keys, file
# names without spaces), so that a form matches only what it wrote.
FORMS = (
    N_("FAQ: {entry} removed"),
    N_("FAQ: {entry}"),
    N_("texts: {key}"),
    N_("loyalty rules"),
    N_("onboarding questions"),
    N_("dates"),
    N_("sequence {name} added"),
    N_("sequence {name} removed"),
    N_("sequence {old} renamed to {new}"),
    N_("sequence {name}: step {index} moved earlier"),
    N_("sequence {name}: step {index} moved later"),
    N_("sequence {name}: step {index} removed"),
    N_("sequence {name}: step {index} saved"),
    N_("sequence {name}: trigger and exits"),
    N_("coupon {key} added"),
    N_("coupon {key} removed"),
    N_("coupon {old} renamed to {new}"),
    N_("currency and catalogue"),
    N_("coupon {key}"),
    N_("imported {file}"),
    N_("imported a content file"),
    N_("back to version {n}"),
    N_("the content file {name}"),
)


def summary(form: str, /, **values: Any) -> str:
    """A summary to store, in one of the `FORMS` (English)."""
    assert form in FORMS, form
    return form.format(**values)


@functools.cache
def _pattern(form: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", form)
    regex = "".join(re.escape(part) if i % 2 == 0 else rf"(?P<{part}>\S+)" for i, part in enumerate(parts))
    return re.compile(rf"^{regex}$")


def shown(stored: str) -> TeamText:
    """A stored summary as a text translated where it is shown (as written when it is in none of the forms)."""
    for form in FORMS:
        match = _pattern(form).match(stored)
        if match:
            return TeamText(form, **match.groupdict())
    return TeamText.raw(stored)
