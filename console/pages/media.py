"""Uploaded photos and videos, shown in the editors' previews (`console/trying.py`)."""

from __future__ import annotations

from aiohttp import web

from console.auth import requires
from console.trying import media_of

routes = web.RouteTableDef()


@routes.get("/media/{media_id:[^/]+}")
@requires("manager")
async def media_file(request: web.Request) -> web.StreamResponse:
    """The bytes of one upload, with the type its bytes showed (checked at upload)."""
    text = request.match_info["media_id"]
    if not text.isdecimal() or len(text) > 12:
        raise web.HTTPNotFound()
    stored = await media_of(request).repo.get(int(text))
    if stored is None:
        raise web.HTTPNotFound()
    return web.Response(
        body=stored.data, content_type=stored.mime_type, headers={"Cache-Control": "private, max-age=3600"}
    )
