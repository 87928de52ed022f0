"""Getting into the console over HTTP: one-time links, Telegram's signed initData, sessions, roles, CSRF."""

from __future__ import annotations

import re
from datetime import timedelta

import aiohttp

from console.auth import COOKIE
from flows.console_access import LOGIN_TTL
from tests.conftest import OWNER_ID, Harness
from tests.console_helpers import console_url, csrf_token, http_login, login_link, signed_init_data
from tests.loyalty_helpers import hire

CASHIER_ID = 501
MANAGER_ID = 502


def _client(base: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": base})


async def _mini_app_login(harness: Harness, init_data: str) -> tuple[int, bool]:
    base = await console_url(harness)
    form = {"init_data": init_data}
    async with (
        _client(base) as client,
        client.post(f"{base}/auth/mini-app", data=form, allow_redirects=False) as r,
    ):
        return r.status, any(cookie.key == COOKIE for cookie in client.cookie_jar)


async def test_login_link_opens_a_session_once(harness: Harness) -> None:
    base = await console_url(harness)
    link = await login_link(harness)
    async with _client(base) as client:
        async with client.post(link, allow_redirects=False) as first:
            assert first.status == 303 and first.headers["Location"] == "/"
        async with client.get(f"{base}/") as home:
            assert home.status == 200 and "signed in as the owner" in await home.text()
    async with _client(base) as stranger, stranger.post(link, allow_redirects=False) as again:
        assert again.status == 403
        assert "already used" in await again.text()


async def test_login_link_expires(harness: Harness) -> None:
    base = await console_url(harness)
    link = await login_link(harness)
    harness.clock.advance(LOGIN_TTL + timedelta(seconds=1))
    async with _client(base) as client, client.post(link, allow_redirects=False) as response:
        assert response.status == 403


async def test_session_cookie_is_http_only_and_lax(harness: Harness) -> None:
    base = await console_url(harness)
    async with _client(base) as client, client.post(await login_link(harness), allow_redirects=False) as r:
        cookie = r.cookies[COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]


async def test_customers_get_no_login_link(harness: Harness) -> None:
    replies = await harness.chat(1001).send("/console")
    assert "/login/" not in " ".join(str(reply) for reply in replies)


async def test_signed_init_data_opens_a_session(harness: Harness) -> None:
    init_data = signed_init_data(OWNER_ID, harness.clock.now())
    assert await _mini_app_login(harness, init_data) == (303, True)


async def test_forged_init_data_is_refused(harness: Harness) -> None:
    forged = signed_init_data(OWNER_ID, harness.clock.now(), token="654321:another-bots-token")
    assert await _mini_app_login(harness, forged) == (403, False)
    altered = signed_init_data(1001, harness.clock.now()).replace("1001", str(OWNER_ID))
    assert await _mini_app_login(harness, altered) == (403, False)


async def test_expired_init_data_is_refused(harness: Harness) -> None:
    old = signed_init_data(OWNER_ID, harness.clock.now() - timedelta(days=1, minutes=1))
    assert await _mini_app_login(harness, old) == (403, False)


async def test_init_data_of_a_customer_opens_nothing(harness: Harness) -> None:
    assert await _mini_app_login(harness, signed_init_data(1001, harness.clock.now())) == (403, False)


async def test_session_expires(harness: Harness) -> None:
    base = await console_url(harness)
    client = await http_login(harness)
    async with client:
        harness.clock.advance(timedelta(hours=25))
        async with client.get(f"{base}/", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/welcome"


async def test_logout_ends_the_session(harness: Harness) -> None:
    base = await console_url(harness)
    client = await http_login(harness)
    async with client:
        token = await csrf_token(client, base)
        async with client.post(f"{base}/logout", data={"csrf_token": token}, allow_redirects=False) as response:
            assert response.status == 303
        async with client.get(f"{base}/", allow_redirects=False) as response:
            assert response.status == 303


async def test_cross_site_post_is_refused(harness: Harness) -> None:
    base = await console_url(harness)
    client = await http_login(harness)
    async with client:
        token = await csrf_token(client, base)
        form = {"csrf_token": token, "language": "ru", "next": "/"}
        async with client.post(f"{base}/language", data=form, headers={"Origin": "https://evil.example"}) as r:
            assert r.status == 403 and "another site" in await r.text()
        async with client.post(f"{base}/language", data={**form, "csrf_token": "guess"}) as r:
            assert r.status == 403 and "expired" in await r.text()
        async with client.get(f"{base}/") as r:
            assert 'lang="en"' in await r.text()  # nothing changed


async def test_cashier_is_refused_a_manager_page_and_sees_no_figures(harness: Harness) -> None:
    await hire(harness, CASHIER_ID, "cashier")
    base = await console_url(harness)
    client = await http_login(harness, CASHIER_ID)
    async with client:
        async with client.get(f"{base}/") as home:
            text = await home.text()
            assert home.status == 200 and "signed in as a cashier" in text and "Revenue" not in text
        guarded = [
            route
            for route in harness.app.console.web_routes()  # type: ignore[union-attr]
            if getattr(route.handler, "required_role", "cashier") != "cashier" and route.method == "GET"
        ]
        for route in guarded:
            async with client.get(f"{base}{route.resource.canonical}") as response:
                assert response.status == 403, route


async def test_revoked_staff_lose_access_on_the_next_request(harness: Harness) -> None:
    await hire(harness, MANAGER_ID, "manager")
    base = await console_url(harness)
    client = await http_login(harness, MANAGER_ID)
    async with client:
        async with client.get(f"{base}/") as response:
            assert response.status == 200
        await harness.services["staff"].revoke(MANAGER_ID, by=OWNER_ID)
        async with client.get(f"{base}/") as response:
            assert response.status == 403 and "access to the console has ended" in await response.text()
        async with client.get(f"{base}/", allow_redirects=False) as response:
            assert response.status == 303  # the session is gone: back to signing in


async def test_unknown_page_is_a_page_not_a_traceback(harness: Harness) -> None:
    base = await console_url(harness)
    async with _client(base) as client, client.get(f"{base}/no-such-page") as response:
        assert response.status == 404 and "There is no such page" in await response.text()


async def test_owner_sees_who_is_signed_in_and_ends_a_session(harness: Harness) -> None:
    await hire(harness, MANAGER_ID, "manager")
    base = await console_url(harness)
    manager = await http_login(harness, MANAGER_ID)
    owner = await http_login(harness)
    async with manager, owner:
        async with owner.get(f"{base}/sign-ins") as page:
            text = await page.text()
        assert page.status == 200 and "Manager" in text and "this one" in text
        session = re.findall(r'name="session" value="([0-9a-f]+)"', text)
        assert len(session) == 1  # the manager's; the owner's own has no button
        form = {"csrf_token": await csrf_token(owner, base), "session": session[0]}
        async with owner.post(f"{base}/sign-ins/end", data=form, allow_redirects=False) as response:
            assert response.status == 303
        async with manager.get(f"{base}/", allow_redirects=False) as response:
            assert response.status == 303  # signed out


async def test_a_manager_cannot_open_the_owners_sign_ins(harness: Harness) -> None:
    await hire(harness, MANAGER_ID, "manager")
    base = await console_url(harness)
    async with await http_login(harness, MANAGER_ID) as manager, manager.get(f"{base}/sign-ins") as page:
        assert page.status == 403 and "for the owner" in await page.text()


async def test_home_page_with_its_files_is_under_100_kb(harness: Harness) -> None:
    base = await console_url(harness)
    async with await http_login(harness) as client:
        async with client.get(f"{base}/") as page:
            html = await page.read()
        total = len(html)
        for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', html.decode()):
            async with client.get(f"{base}{asset}") as response:
                assert response.status == 200
                total += len(await response.read())
    assert total < 100 * 1024, total


async def test_a_failure_is_a_short_page_not_a_traceback(harness: Harness) -> None:
    base = await console_url(harness)
    async with await http_login(harness) as client:
        harness.services["analytics"].repo = None  # the home page's figures now fail
        async with client.get(f"{base}/home/figures") as response:
            text = await response.text()
    assert response.status == 500 and "went wrong on our side" in text and "Traceback" not in text


async def test_home_figures_follow_stats_and_work_without_script(harness: Harness) -> None:
    await harness.chat(1001).send("/start")
    harness.clock.advance(timedelta(minutes=1))
    base = await console_url(harness)
    async with await http_login(harness) as client:
        async with client.get(f"{base}/") as home:
            assert 'hx-get="/home/figures"' in await home.text()
        async with client.get(f"{base}/home/figures") as page:  # the <noscript> link: a whole page
            text = await page.text()
        async with client.get(f"{base}/home/figures", headers={"HX-Request": "true"}) as fragment:
            part = await fragment.text()
    assert "<html" in text and "<html" not in part
    assert re.search(r"<dt>Customers</dt><dd>1</dd>", part), part
