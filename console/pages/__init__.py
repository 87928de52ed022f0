"""The console's pages: one module per area, each exposing `routes` (an aiohttp RouteTableDef whose
handlers are guarded with `console.auth.requires`) and, to be in the navigation, `AREA`."""
