"""Photos and videos uploaded in the console: what is accepted, and how content refers to them.

An upload is checked by its bytes (not its name or the browser's type): JPEG, PNG or WebP for a photo,
MP4 for a video, within Telegram's limits for bots. It is stored in the database (`storage.media`) and
content names it `media:<id>` wherever a photo (or a broadcast's video) may be a link or a file id; the
bot sends its bytes the first time and Telegram's file id after that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.clock import Clock
from flows.i18n import N_
from storage.media import MediaRepo, StoredMedia

PREFIX = "media:"
_REF = re.compile(r"^media:(\d{1,12})$")
PHOTO_LIMIT = 10 * 1024 * 1024  # Telegram: a photo a bot uploads is at most 10 MB
# Telegram takes 50 MB videos from bots; the console's body limit (console/app.py) keeps them to 20 MB.
VIDEO_LIMIT = 20 * 1024 * 1024

NOT_MEDIA = N_("This file is not a photo or a video: upload a JPEG, PNG or WebP photo or an MP4 video.")
NOT_PHOTO = N_("This file is not a photo: upload a JPEG, PNG or WebP picture.")
TOO_BIG = N_("The file is too big: at most %(mb)s MB.")
EMPTY = N_("The file is empty.")


def ref(media_id: int) -> str:
    """How content names an upload."""
    return f"{PREFIX}{media_id}"


def ref_id(value: str | None) -> int | None:
    """The upload a value names, or None when it is a link, a file id or a path."""
    match = _REF.match(value or "")
    return int(match.group(1)) if match else None


def sniff(data: bytes) -> tuple[str, str] | None:
    """(kind, MIME type) of a file from its first bytes; None for anything we do not send."""
    if data.startswith(b"\xff\xd8\xff"):
        return "photo", "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "photo", "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "photo", "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in _MP4_BRANDS:
        return "video", "video/mp4"
    return None


_MP4_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash", b"mmp4"}


@dataclass(frozen=True)
class Refused:
    """Why an upload was not taken: a message (N_) and its values."""

    message: str
    values: dict[str, int]


class Media:
    """Uploads in, stored uploads out."""

    def __init__(self, repo: MediaRepo, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock

    async def upload(self, data: bytes, by: int | None, *, kinds: tuple[str, ...] = ("photo",)) -> str | Refused:
        """Store an upload of one of `kinds`; its reference for content, or why it is refused."""
        if not data:
            return Refused(EMPTY, {})
        found = sniff(data)
        if found is None or found[0] not in kinds:
            return Refused(NOT_PHOTO if kinds == ("photo",) else NOT_MEDIA, {})
        kind, mime_type = found
        limit = PHOTO_LIMIT if kind == "photo" else VIDEO_LIMIT
        if len(data) > limit:
            return Refused(TOO_BIG, {"mb": limit // (1024 * 1024)})
        return ref(await self.repo.add(kind, mime_type, data, by, self.clock.now()))

    async def get(self, value: str | None) -> StoredMedia | None:
        """The upload a content value names, if it names one that exists."""
        media_id = ref_id(value)
        return None if media_id is None else await self.repo.get(media_id)

    async def kinds(self) -> dict[int, str]:
        """Every upload's kind by id: what the content model checks references against."""
        return await self.repo.kinds()

    async def remember_file_id(self, value: str, file_id: str) -> None:
        media_id = ref_id(value)
        if media_id is not None:
            await self.repo.remember_file_id(media_id, file_id)
