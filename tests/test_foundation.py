"""End to end through the emulator: /start and its source, onboarding, profile, opt-out, forgetting."""

from __future__ import annotations

from bot.sandbox.driver import ChatDriver
from storage.customers import Customer
from tests.conftest import Harness


async def stored(harness: Harness, tg_id: int = 1001) -> Customer:
    customer = await harness.services["customers"].repo.by_tg_id(tg_id)
    assert customer is not None
    return customer


def texts(replies: list) -> str:
    return "\n".join(reply.plain_text or reply.caption or "" for reply in replies)


async def test_start_without_payload_welcomes_and_asks_for_phone(harness: Harness, chat: ChatDriver) -> None:
    replies = await chat.send("/start")
    assert "Welcome to Sunrise Yoga & Coffee" in texts(replies)
    assert "Share your phone number" in replies[-1].plain_text
    customer = await stored(harness)
    assert customer.first_name == "Anna"
    assert customer.source is None
    assert customer.onboarding_step == "phone"


async def test_start_with_source_payload_records_the_source(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start src-instagram")
    assert (await stored(harness)).source == "instagram"
    # First touch wins: a later link from another source does not overwrite it.
    await chat.send("/start src-flyer")
    assert (await stored(harness)).source == "instagram"


async def test_malformed_payload_is_ignored(harness: Harness, chat: ChatDriver) -> None:
    replies = await chat.send("/start %%garbage<>")
    assert "Welcome" in texts(replies)
    assert (await stored(harness)).source is None


async def test_russian_customer_is_greeted_in_russian(harness: Harness) -> None:
    ivan = harness.chat(2002, first_name="Иван", language_code="ru")
    replies = await ivan.send("/start")
    assert "Добро пожаловать" in texts(replies)


async def test_own_contact_is_saved_and_birthday_asked(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    replies = await chat.share_contact("380501234567")
    assert "number is saved" in texts(replies)
    assert "When is your birthday" in replies[-1].plain_text
    assert (await stored(harness)).phone == "+380501234567"


async def test_someone_elses_contact_is_refused(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    replies = await chat.share_contact("380509999999", own=False)
    assert "someone else's contact" in texts(replies)
    customer = await stored(harness)
    assert customer.phone is None
    assert customer.onboarding_step == "phone"


async def test_typed_text_at_phone_step_gets_a_hint_and_skip_moves_on(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    assert "Share my number" in texts(await chat.send("my phone is secret"))
    replies = await chat.send("Skip")
    assert "When is your birthday" in replies[-1].plain_text


async def test_invalid_birthday_gets_hint_then_valid_one_is_saved(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    await chat.send("Skip")
    for bad in ("31.02", "tomorrow", "12.13.1990", "1.1.1850"):
        replies = await chat.send(bad)
        assert "couldn't read that date" in texts(replies), bad
        assert (await stored(harness)).birthday_month is None
    replies = await chat.send("25.12.1990")
    assert "25 December 1990" in texts(replies)
    customer = await stored(harness)
    assert (customer.birthday_day, customer.birthday_month, customer.birthday_year) == (25, 12, 1990)
    assert "What are you interested in" in replies[-1].plain_text


async def test_interests_become_tags(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    await chat.send("Skip")
    await chat.click("Skip")
    await chat.click("Yoga")
    edited = await chat.click("Massage")
    assert any("✅" in text for row in edited[-1].buttons for text, _ in row)
    await chat.click("Massage")  # and off again
    replies = await chat.click("Done")
    assert "Noted: 🧘 Yoga classes" in texts(replies)
    assert "All set" in texts(replies)
    customer = await stored(harness)
    assert await harness.services["customers"].repo.tags(customer.id) == ["yoga"]
    assert customer.onboarded and customer.onboarding_step is None


async def test_profile_shows_what_is_stored(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start src-flyer")
    await chat.share_contact("+380501112233")
    await chat.send("7/3")
    await chat.click("Coffee")
    await chat.click("Done")
    profile = texts(await chat.send("/profile"))
    for expected in ("Anna", "+380501112233", "7 March", "Coffee & desserts", "News and offers: on"):
        assert expected in profile


async def test_stop_opts_out_and_start_opts_back_in(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    assert "no more news or offers" in texts(await chat.send("/stop"))
    assert (await stored(harness)).opted_out
    assert "already unsubscribed" in texts(await chat.send("/stop"))
    replies = await chat.send("/start")
    assert "subscribed to our news and offers again" in texts(replies)
    assert not (await stored(harness)).opted_out


async def test_forget_deletes_personal_data_after_confirmation(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    await chat.share_contact("+380501112233")
    await chat.send("1.5")
    before = await stored(harness)
    await chat.send("/forget")
    assert "Nothing was deleted" in texts(await chat.click("Cancel"))
    assert (await stored(harness)).phone == "+380501112233"
    await chat.send("/forget")
    assert "has been deleted" in texts(await chat.click("Yes, delete"))
    anonymous = await harness.services["customers"].repo.get(before.id)
    assert anonymous is not None
    assert (anonymous.tg_id, anonymous.phone, anonymous.first_name, anonymous.birthday_day) == (
        None,
        None,
        None,
        None,
    )
    assert await harness.services["customers"].repo.tags(before.id) == []


async def test_restart_keeps_customers_and_resumes_onboarding(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start src-instagram")
    await chat.share_contact("+380501112233")
    await harness.restart()
    replies = await chat.send("/start")
    assert "Welcome back" in texts(replies)
    assert "When is your birthday" in replies[-1].plain_text
    customer = await stored(harness)
    assert (customer.source, customer.phone) == ("instagram", "+380501112233")


async def test_language_can_be_switched(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/language")
    replies = await chat.click("Українська")
    assert "Мова: українська" in texts(replies)
    assert "Бот" in texts(await chat.send("/help"))


async def test_unknown_command_free_text_and_stickers_get_an_answer(harness: Harness, chat: ChatDriver) -> None:
    assert "don't know that command" in texts(await chat.send("/nonsense"))
    assert "Thanks for your message" in texts(await chat.send("hello there"))
    assert "only read text" in texts(await chat.send_photo())


async def test_handler_failure_gets_an_apology_and_the_bot_keeps_running(
    harness: Harness, chat: ChatDriver
) -> None:
    await chat.send("/start")
    async with harness.app.db.transaction() as tx:  # the database goes wrong under one request…
        await tx.execute("ALTER TABLE customer_tags RENAME TO customer_tags_away")
    assert "something went wrong" in texts(await chat.send("/profile"))
    async with harness.app.db.transaction() as tx:  # …and comes back
        await tx.execute("ALTER TABLE customer_tags_away RENAME TO customer_tags")
    assert "Your profile" in texts(await chat.send("/profile"))


async def test_blocking_the_bot_marks_the_customer_unreachable_at_once(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    update = harness.emu.chat_member_update(1001, "kicked")
    await harness.emu.wait_processed(update["update_id"])
    assert (await stored(harness)).unreachable
    await chat.send("/start")  # "Restart" in the Telegram app unblocks
    assert not (await stored(harness)).unreachable
    events = await harness.services["events"].kinds_for((await stored(harness)).id)
    assert events.count("blocked") == 1 and events.count("unblocked") == 1
