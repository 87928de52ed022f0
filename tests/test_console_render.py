"""The console's templates escape what people typed and show a field's problem next to it."""

from __future__ import annotations

from console.render import environment, template_callables
from flows.i18n import translator


def render(source: str, **values: object) -> str:
    template = environment().from_string(source)
    return template.render(**template_callables(translator("ru")), **values)


def test_typed_text_is_escaped_and_translations_are_not() -> None:
    html = render('{{ name }} · {{ gettext("Log out") }}', name='<script>alert(1)</script>"')
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;" in html and "Выйти" in html


def test_a_field_shows_its_problem_next_to_it() -> None:
    html = render(
        '{% import "forms.html" as forms with context %}{{ forms.csrf_field() }}'
        '{{ forms.field("amount", "Amount", value=typed, error="Write a number, e.g. 1500") }}',
        csrf="token-1",
        typed='12"><b>',
    )
    assert 'name="csrf_token" value="token-1"' in html
    assert 'value="12&#34;&gt;&lt;b&gt;"' in html
    assert 'aria-invalid="true"' in html and 'aria-describedby="e-amount"' in html
    assert '<small id="e-amount" class="error" role="alert">Write a number, e.g. 1500</small>' in html
