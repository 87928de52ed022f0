"""Browser tests of the console: one chromium per module, the bot's fixtures on that module's event loop.

Every module here starts with `pytestmark = pytest.mark.asyncio(loop_scope="module")` (see
`tests/console_helpers.py`)."""

from tests.console_helpers import browser, console, emu, harness, page  # noqa: F401 - fixtures for this folder
