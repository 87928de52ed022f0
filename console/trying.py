"""What every editor that shows a customer message shares: its uploaded photo (or video), and "Send to me".

An upload comes in the same multipart form as the fields, is checked by its bytes (`flows.media`) and
stored once; the form then carries its reference (`media:<id>`) like a link. "Send to me" queues the
message, rendered from the form's unsaved values, for the signed-in person's own chat with the bot
(`flows.send_to_me`); the form's one-time key makes a double click send one message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from console.app import CONSOLE
from console.session import signed_in
from flows.i18n import N_, translator
from flows.media import Media, Refused, ref_id, sniff
from flows.messenger import Outgoing
from flows.send_to_me import SendToMe, new_form_key

SENT = N_("Sent to your chat with the bot: it arrives in a moment.")
ALREADY_SENT = N_("Already sent: this form sent the same message a moment ago.")
FORM_KEY = "send_key"

__all__ = [
    "ALREADY_SENT",
    "FORM_KEY",
    "SENT",
    "new_form_key",
    "send_to_me",
    "shown_media",
    "upload",
    "upload_media",
]


def media_of(request: web.Request) -> Media:
    media: Media = request.app[CONSOLE].services["media"]
    return media


async def upload(request: web.Request, posted: Mapping[str, Any], name: str) -> str | None:
    """The reference of the photo uploaded in field `name`, or None when none was chosen; a refused file
    raises `UploadRefused` with the message to show next to the field."""
    uploaded = await upload_media(request, posted, name, ("photo",))
    return uploaded[0] if uploaded else None


async def upload_media(
    request: web.Request, posted: Mapping[str, Any], name: str, kinds: tuple[str, ...]
) -> tuple[str, str] | None:
    """(reference, photo or video) of the file uploaded in field `name`; None when none was chosen."""
    field = posted.get(name)
    if not isinstance(field, web.FileField) or not field.filename:
        return None
    data = field.file.read()
    if not data:  # a file input left empty still posts a part, without a name in some browsers
        return None
    stored = await media_of(request).upload(data, signed_in(request).tg_id, kinds=kinds)
    if isinstance(stored, Refused):
        raise UploadRefused(stored)
    found = sniff(data)
    assert found is not None  # the upload was taken: its bytes are a kind we know
    return stored, found[0]


class UploadRefused(Exception):
    def __init__(self, refused: Refused) -> None:
        super().__init__(refused.message)
        self.refused = refused

    def text(self, language: str) -> str:
        """The refusal in the person's language."""
        return translator(language).gettext(self.refused.message) % self.refused.values


def shown_media(request: web.Request, value: str | None) -> dict[str, str] | None:
    """How a preview shows a message's photo or video: an uploaded one from the console's own address
    (the page's policy loads images only from there), another by naming it."""
    if not value:
        return None
    media_id = ref_id(value)
    if media_id is None:
        return {"name": value}
    return {"url": request.app[CONSOLE].url(f"/media/{media_id}"), "name": value}


async def send_to_me(request: web.Request, message: Outgoing, form_key: str) -> str:
    """Queue the message for the signed-in person's chat with the bot; the notice to show. `form_key`: the
    form's one-time key (the same message from the same form goes once)."""
    sender: SendToMe = request.app[CONSOLE].services["send_to_me"]
    queued = await sender.send(signed_in(request).tg_id, message, form_key)
    return SENT if queued else ALREADY_SENT
