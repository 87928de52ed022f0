"""The FAQ matcher against the blind evaluation of tests/faq_eval: three businesses' FAQs written the way
owners write them (at most two phrasings per language) and customers' questions written before any
tuning. The floors are today's figures less a little: a change that makes answers worse fails here.
`python -m bench faq` prints the full tables (per language and kind)."""

from __future__ import annotations

import pytest

from bench.faq import Tally, evaluate, indexes
from flows.faq_index import FaqIndex
from tests.faq_eval import load_questions

# (part, least share correct, most share confidently wrong)
FLOORS = [("tune", 0.86, 0.02), ("held_out", 0.76, 0.02)]


@pytest.fixture(scope="module")
def by_business() -> dict[str, FaqIndex]:
    return indexes()


@pytest.mark.parametrize(("part", "correct", "wrong"), FLOORS)
def test_the_blind_evaluation_stays_above_its_floors(
    by_business: dict[str, FaqIndex], part: str, correct: float, wrong: float
) -> None:
    tally: Tally = evaluate(load_questions(part), by_business)["all"]  # type: ignore[arg-type]
    print(f"\n{part}: {tally.correct / tally.total:.1%} correct, {tally.wrong / tally.total:.1%} wrong")
    assert tally.correct / tally.total >= correct
    assert tally.wrong / tally.total <= wrong
    assert tally.outside_answered <= tally.outside / 10  # out of scope answered: at most one in ten
