"""Editing the content while the bot runs: versioned saves, import/export, diffs and reverts.

The current content is the newest stored version, else the content file (its first import). Every save is
a whole document validated by the same model as the file, stored with who, when and a summary, audited,
and switched into the running bot (`flows.content_live`). Nothing is ever overwritten: a revert stores
the old document again as a new version, so the history reads top to bottom.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.clock import Clock
from flows.content import Content, ContentError, FaqEntry
from flows.content_documents import (
    Document,
    DocumentError,
    Problem,
    changed_keys,
    dump_yaml,
    line_diff,
    parse_yaml,
    validate,
)
from flows.content_live import LiveContent
from flows.content_summaries import summary as summary_of
from flows.i18n import N_
from flows.team_text import TeamText
from storage.content_versions import ContentVersionsRepo, NewVersion, StaleBase, Version

log = logging.getLogger(__name__)

SUMMARY_LIMIT = 200
KEYS_AUDITED = 20  # changed places written to the audit log; the diff itself is the version table


@dataclass(frozen=True)
class Current:
    version: int | None  # None: nothing saved yet, the content file is the content
    document: Document
    content: Content


@dataclass(frozen=True)
class Outcome:
    """What a save, import or revert did: the new version, or why nothing was saved."""

    version: int | None = None
    problems: tuple[Problem, ...] = ()
    stale: bool = False  # someone saved meanwhile: reload and redo the change
    unchanged: bool = False

    @property
    def ok(self) -> bool:
        return self.version is not None


@dataclass(frozen=True)
class Diff:
    keys: list[str]
    lines: list[str]


@dataclass
class ContentEdits:
    repo: ContentVersionsRepo
    live: LiveContent
    content_file: Path  # its folder is where relative photo paths point, for every version
    clock: Clock
    # Every uploaded photo's kind by id (`flows.media.Media.kinds`): what `media:<id>` in content must name.
    media_kinds: Callable[[], Awaitable[dict[int, str]]] | None = None
    _file_text: str | None = field(default=None, repr=False)

    @property
    def base(self) -> Path:
        return self.content_file.parent

    def _file(self) -> str:
        if self._file_text is None:
            self._file_text = self.content_file.read_text("utf-8")
        return self._file_text

    async def _media(self) -> dict[int, str] | None:
        return await self.media_kinds() if self.media_kinds is not None else None

    async def stored(self) -> Content | None:
        """The newest stored version, validated (at start-up); None when none was saved yet. ContentError
        names the version and the problem if it no longer validates (e.g. a photo file was removed)."""
        latest = await self.repo.latest()
        if latest is None:
            self._file()  # read now: the first edit keeps the file the bot started with, not a later one
            return None
        version, text = latest
        log.info("content: version %s from the database (%s was its first import)", version.id, self.content_file)
        try:
            content = validate(parse_yaml(text), self.base, await self._media())
        except DocumentError as exc:
            raise ContentError(
                f"content version {version.id} in the database: {exc} "
                "(import a corrected file with `nurture-bot content import FILE`)"
            ) from None
        self.live.version = version.id
        return content

    async def follow_stored(self) -> None:
        """Another process saved a version (`storage.signals.CONTENT`): switch to the newest stored one,
        unless it is the one running already. A version that does not validate here (a photo file missing
        on this machine) is logged and this process stays on the one it runs."""
        latest = await self.repo.latest()
        if latest is None or (self.live.version is not None and latest[0].id <= self.live.version):
            return
        version, text = latest
        try:
            content = validate(parse_yaml(text), self.base, await self._media())
        except DocumentError as exc:
            log.error("content version %s, saved by another process, does not validate here: %s", version.id, exc)
            return
        await self.live.switch(content, version=version.id)
        log.info("content: switched to version %s, saved by another process", version.id)

    async def current(self) -> Current:
        """The content in effect, with its version and document (what an editor starts from)."""
        latest = await self.repo.latest()
        if latest is None:
            return Current(None, parse_yaml(self._file()), self.live.current)
        version, text = latest
        return Current(version.id, parse_yaml(text), self.live.current)

    async def export_yaml(self) -> str:
        """The current content as YAML: the file as imported, or as last saved."""
        latest = await self.repo.latest()
        return self._file() if latest is None else latest[1]

    async def save(self, document: Document, by: int | None, summary: str, base: int | None) -> Outcome:
        """Validate and store `document` as the new content, in effect at once; `base` is the version the
        editor started from (refused as stale when someone saved after it)."""
        return await self._store(document, None, by, "edit", summary, base)

    async def import_yaml(self, text: str, by: int | None, base: int | None, summary: str = "") -> Outcome:
        """A whole content file made current, kept as written (comments and all) for export."""
        try:
            document = parse_yaml(text)
        except DocumentError as exc:
            return Outcome(problems=tuple(exc.problems))
        return await self._store(
            document, text, by, "import", summary or summary_of(N_("imported a content file")), base
        )

    async def revert(self, version_id: int, by: int | None, base: int | None) -> Outcome:
        """Make an earlier version current again (as a new version that says which one it brought back)."""
        found = await self.repo.get(version_id)
        if found is None:
            return Outcome(problems=(Problem("", TeamText(N_("there is no version {n}"), n=str(version_id))),))
        _, text = found
        return await self._store(
            parse_yaml(text),
            text,
            by,
            "revert",
            summary_of(N_("back to version {n}"), n=version_id),
            base,
            reverts_to=version_id,
        )

    async def _store(
        self,
        document: Document,
        text: str | None,
        by: int | None,
        kind: str,
        summary: str,
        base: int | None,
        reverts_to: int | None = None,
    ) -> Outcome:
        try:
            content = validate(document, self.base, await self._media())
        except DocumentError as exc:
            return Outcome(problems=tuple(exc.problems))
        before = await self.current()
        if before.version != base:
            return Outcome(stale=True)
        keys = list(changed_keys(before.document, document))
        if not keys:
            return Outcome(unchanged=True)
        versions = [] if before.version is not None else [self._file_version()]
        summary = " ".join(summary.split())[:SUMMARY_LIMIT] or ", ".join(keys)[:SUMMARY_LIMIT]
        versions.append(NewVersion(text or dump_yaml(document), kind, summary, by, reverts_to, keys))
        now = self.clock.now()

        async def persist() -> int:
            stored = await self.repo.add(versions, base, now, keys=keys[:KEYS_AUDITED])
            self.live.version = stored  # under the switch's lock: a signal of this very save changes nothing
            return stored

        try:
            version_id = await self.live.switch(content, persist)
        except StaleBase:
            return Outcome(stale=True)
        return Outcome(version=version_id)

    def _file_version(self) -> NewVersion:
        """The content file as the first version, so the first edit can be compared and reverted."""
        return NewVersion(
            self._file(), "file", summary_of(N_("the content file {name}"), name=self.content_file.name), None
        )

    async def versions(self, limit: int = 50, before: int | None = None) -> list[Version]:
        """The newest versions first."""
        return await self.repo.listing(limit, before)

    async def diff(self, version_id: int) -> Diff | None:
        """What a version changed against the one before it (the first: against nothing)."""
        found = await self.repo.get(version_id)
        if found is None:
            return None
        _, text = found
        earlier = await self.repo.listing(1, before=version_id)
        previous: Document = {}
        if earlier:
            got = await self.repo.get(earlier[0].id)
            assert got is not None
            previous = parse_yaml(got[1])
        document = parse_yaml(text)
        return Diff(list(changed_keys(previous, document)), line_diff(previous, document))

    async def save_faq_entry(
        self, entry_id: str, entry: Document, by: int | None, base: int | None, summary: str = ""
    ) -> Outcome:
        """One FAQ entry replaced (or added, for a new id) in the current content and saved."""
        document = with_faq_entry((await self.current()).document, entry_id, entry)
        return await self.save(document, by, summary or summary_of(N_("FAQ: {entry}"), entry=entry_id), base)

    async def remove_faq_entry(self, entry_id: str, by: int | None, base: int | None) -> Outcome:
        """An FAQ entry taken out (refused while another entry's button still opens it)."""
        document = copy.deepcopy((await self.current()).document)
        entries = document.get("faq") or []
        document["faq"] = [e for e in entries if not (isinstance(e, dict) and e.get("id") == entry_id)]
        return await self.save(document, by, summary_of(N_("FAQ: {entry} removed"), entry=entry_id), base)

    async def save_text(self, key: str, values: Mapping[str, str], by: int | None, base: int | None) -> Outcome:
        """One of the texts customers get (`welcome`, `help` …) saved in every language given."""
        document = with_text((await self.current()).document, key, values)
        return await self.save(document, by, summary_of(N_("texts: {key}"), key=key), base)

    async def try_document(self, document: Document) -> Content | list[Problem]:
        """The content `document` would be, checked exactly as a save checks it, without saving it: what
        the console previews and sends to its owner."""
        try:
            return validate(document, self.base, await self._media())
        except DocumentError as exc:
            return exc.problems

    async def try_faq_entry(self, entry_id: str, entry: Document) -> FaqEntry | list[Problem]:
        """The entry as it would be saved (checked with the whole content), without saving it."""
        content = await self.try_document(with_faq_entry((await self.current()).document, entry_id, entry))
        if isinstance(content, list):
            return content
        found = content.faq_entry(entry_id)
        assert found is not None
        return found


def with_text(document: Document, key: str, values: Mapping[str, str]) -> Document:
    """A copy of the document with one customer text (`texts.<language>.<key>`) set in each language
    given; an empty value removes it from that language (the default language's text is then missing,
    which validation names; another language falls back to it where the business allows)."""
    document = copy.deepcopy(document)
    found = document.get("texts")
    texts: dict[str, Any] = found if isinstance(found, dict) else {}
    document["texts"] = texts
    for language, value in values.items():
        own = texts.setdefault(language, {}) or {}
        texts[language] = own
        text = _lines(value)
        if text:
            own[key] = text
        else:
            own.pop(key, None)
    return document


def with_faq_entry(document: Document, entry_id: str, entry: Document) -> Document:
    """A copy of the document with the entry `entry_id` replaced, or added at the end."""
    document = copy.deepcopy(document)
    entries: list[Any] = document.get("faq") or []
    document["faq"] = entries
    entry = {"id": entry_id, **{k: v for k, v in entry.items() if k != "id"}}
    for index, existing in enumerate(entries):
        if isinstance(existing, dict) and existing.get("id") == entry_id:
            entries[index] = entry
            break
    else:
        entries.append(entry)
    return document


def faq_entry_document(
    title: Mapping[str, str],
    questions: Mapping[str, str],
    answer: Mapping[str, str],
    buttons: Sequence[Mapping[str, Any]] = (),
    photo: str | None = None,
) -> Document:
    """An FAQ entry as the content file writes it, from what an editor typed: texts per language (empty
    ones left out), phrasings one per line, buttons as {type, text: {lang: …}, url, faq}."""
    entry: Document = {}
    titles = {lang: text.strip() for lang, text in title.items() if text.strip()}
    if titles:
        entry["title"] = titles
    entry["questions"] = {
        lang: lines
        for lang, text in questions.items()
        if (lines := [q.strip() for q in text.splitlines() if q.strip()])
    }
    entry["answer"] = {lang: _lines(text) for lang, text in answer.items() if text.strip()}
    if photo:
        entry["photo"] = photo
    made = []
    for button in buttons:
        texts = {lang: text.strip() for lang, text in dict(button.get("text") or {}).items() if text.strip()}
        item: Document = {"type": button.get("type"), "text": texts}
        for key in ("url", "faq"):
            if button.get(key):
                item[key] = str(button[key]).strip()
        made.append(item)
    if made:
        entry["buttons"] = made
    return entry


def _lines(text: str) -> str:
    """Browsers send line breaks as CRLF; the content keeps LF, without trailing blanks."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n"))
