"""The composition root: build the database, flows, Bot and Dispatcher and wire them together."""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response
from aiogram.methods.base import TelegramType as T
from aiogram.types import LinkPreviewOptions
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.api import API_MAX_BODY, ApiServer
from bot.chat_actions import AiogramChatActions
from bot.edits import UnchangedEditMiddleware
from bot.http_server import HttpLimits, limited_app, start_server
from bot.live_content import follow_content
from bot.manager_chat import AiogramTopics
from bot.menus import Menus
from bot.messenger import AiogramMessenger
from bot.outbound import OutboundMiddleware
from bot.polling import Poller, PollingLimits
from bot.progress import AiogramProgressBoard
from bot.scheduler import build_scheduler
from bot.settings import Settings
from bot.shared_state import follow_other_processes
from bot.webhook import WebhookHandler, webhook_secret
from console.app import CONSOLE_MAX_BODY, Console, ConsoleServer
from flows.analytics import Analytics
from flows.broadcasts import Broadcasts
from flows.clock import Clock, SystemClock
from flows.console_access import ConsoleAccess
from flows.content import Content, load_content
from flows.content_edits import ContentEdits
from flows.content_live import LiveContent
from flows.coupons import Coupons
from flows.customers import Customers
from flows.faq import Faq
from flows.faq_llm import Endpoint, SecondOpinion
from flows.faq_setup import index_builder
from flows.faq_teaching import FaqTeaching
from flows.feedback import Feedback
from flows.forgetting import Forgetting
from flows.handoff import Handoff
from flows.imports import Imports
from flows.intent import BuyingIntent
from flows.jobs import Jobs
from flows.liveness import POLLING, AnotherPoller, Liveness
from flows.loyalty import Loyalty
from flows.media import Media
from flows.notices import Notices
from flows.onboarding import Onboarding
from flows.outbox import DrainReport, Sender, SendPolicy
from flows.pacing import Budget, Lanes, Pacer
from flows.people import People
from flows.people_search import PeopleSearch
from flows.purchases import Purchases
from flows.redaction import redact
from flows.referrals import Referrals
from flows.retention import Retention, RetentionPolicy
from flows.sales import Sales
from flows.segments import Segments
from flows.send_to_me import SendToMe
from flows.sequences import Sequences
from flows.shared_pacing import SharedLanes
from flows.staff import Staff
from flows.stats_cache import StatsCache
from handlers import get_routers
from handlers.broadcasts import broadcast_button_data, control_buttons
from handlers.faq import FAQ_BUTTONS
from handlers.handoff import lead_button_data
from handlers.loyalty import loyalty_buttons
from handlers.middlewares import CustomerMiddleware, InFlightMiddleware, SamePressMiddleware
from handlers.routing import LeanDispatcher
from handlers.sequences import sequence_button_data
from storage.analytics import AnalyticsRepo
from storage.audience import set_owners
from storage.broadcasts import BroadcastsRepo
from storage.console_access import ConsoleAccessRepo
from storage.contact_policy import broadcast_ahead
from storage.content_versions import ContentVersionsRepo
from storage.coupons import CouponsRepo
from storage.customers import CustomersRepo
from storage.db import Database, open_database
from storage.enrollments import EnrollmentsRepo
from storage.events import EventsRepo
from storage.faq_log import FaqLogRepo
from storage.faq_teaching import FaqTeachingRepo
from storage.instances import InstancesRepo, LeasesRepo
from storage.kv import KvRepo
from storage.leads import LeadsRepo
from storage.ledger import LedgerRepo
from storage.media import MediaRepo
from storage.messages import MessagesRepo
from storage.outbox import OutboxRepo
from storage.pace_lanes import PaceLanesRepo
from storage.people import PeopleRepo
from storage.purchases import PurchasesRepo
from storage.segments import SegmentsRepo
from storage.signals import MANAGER_CHAT, Signals
from storage.staff import StaffRepo

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 20.0
WEBHOOK_PATH = "/telegram"
WEBHOOK_MAX_BODY = 1024 * 1024  # an update is a few kB; Telegram's own limit for a message is far below


def http_limits(settings: Settings, max_body: int = WEBHOOK_MAX_BODY) -> HttpLimits:
    """The webhook's and the purchases API's limits against slow and many clients."""
    return HttpLimits(
        header_timeout=settings.http_header_timeout,
        body_timeout=settings.http_body_timeout,
        max_connections=settings.http_max_connections,
        max_body=max_body,
    )


@dataclass
class App:
    settings: Settings
    content: Content
    clock: Clock
    db: Database
    bot: Bot
    dp: Dispatcher
    inflight: InFlightMiddleware
    jobs: Jobs
    services: dict[str, Any] = field(default_factory=dict)
    scheduler: AsyncIOScheduler | None = None
    _stop_requested: bool = False
    api: ApiServer | None = None
    poller: Poller | None = None
    console: ConsoleServer | None = None

    async def start_console(self) -> str:
        """Serve the owner's console on CONSOLE_HOST:CONSOLE_PORT; returns its public base URL. Call it
        before polling starts, so the menus announced at start-up get the console's button."""
        if self.console is None:
            settings = self.settings
            console = Console(
                self.services, self.services["console_access"], settings.bot_token.get_secret_value()
            )
            server = ConsoleServer(console, http_limits(settings, CONSOLE_MAX_BODY), settings.console_url)
            await server.start(settings.console_host, settings.console_port)
            self.console = server
            self.services["menus"].console_url = console.base_url
        return self.console.console.base_url

    async def start_api(self) -> str:
        """Serve POST /api/purchases on API_HOST:API_PORT; returns the base URL."""
        if self.api is None:
            assert self.settings.api_token is not None
            self.api = ApiServer(
                self.settings.api_token.get_secret_value(),
                self.services["purchases"],
                self.services["ledger"],
                self.content,
                self.settings.max_purchase_amount,
                http_limits(self.settings, API_MAX_BODY),
            )
            await self.api.start(self.settings.api_host, self.settings.api_port)
        return self.api.base_url

    async def run_polling(
        self,
        *,
        handle_as_tasks: bool = True,
        handle_signals: bool = True,
        scheduler: bool = True,
        limits: PollingLimits | None = None,
    ) -> None:
        """Long polling until stopped (SIGTERM/SIGINT or `stop`); an update is confirmed to Telegram only
        once handled (`bot.polling`). `handle_as_tasks=False` handles one update at a time."""
        await self.take_polling()
        try:
            await self._poll(handle_as_tasks, handle_signals, scheduler, limits)
        finally:
            await self._release_polling()

    async def take_polling(self) -> None:
        """Take the polling lease: long polling is single-process. `AnotherPoller`, saying who polls, when
        another process on this database holds it (the lease lapses 30 s after its holder fell silent)."""
        liveness = self.jobs.liveness
        if liveness is None or await liveness.hold(POLLING):
            return
        refused = AnotherPoller(await liveness.holder_of(POLLING))
        log.error("%s", refused)
        raise refused

    async def _release_polling(self) -> None:
        """Free the polling lease for the next poller (if the database is unreachable, it lapses)."""
        if self.jobs.liveness is None:
            return
        try:
            await self.jobs.liveness.give_up(POLLING)
        except Exception as exc:
            log.warning("could not free the polling lease (it lapses by itself): %r", exc)

    async def _poll(
        self, handle_as_tasks: bool, handle_signals: bool, scheduler: bool, limits: PollingLimits | None
    ) -> None:
        if scheduler:
            self.start_scheduler()
        await self.bot.delete_webhook(drop_pending_updates=False)
        if self._stop_requested:  # stop() came before polling began: it had nothing to stop yet
            return
        limits = limits or PollingLimits()
        if not handle_as_tasks:
            limits = replace(limits, concurrency=1)
        self.poller = Poller(self.dp, self.bot, KvRepo(self.db), self.clock, limits)
        if self.jobs.liveness is not None:  # another poller took over while this one was silent
            self.jobs.liveness.on_lost[POLLING] = self.poller.stop
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
        for sig in signals:
            loop.add_signal_handler(sig, self.poller.stop)
        try:
            await self.poller.run()
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
            self.poller = None

    async def stop(self) -> None:
        """Stop polling if it runs (or keep it from starting); in-flight updates finish first."""
        self._stop_requested = True
        if self.poller is not None:
            self.poller.stop()

    def start_scheduler(self) -> None:
        if self.scheduler is None:
            self.scheduler = build_scheduler(self.jobs)
            self.scheduler.start()

    async def tick(self) -> DrainReport:
        """Run every periodic job once (tests and the sandbox's time travel)."""
        return await self.jobs.tick()

    async def close(self) -> None:
        """Let in-flight updates and sends finish, then close the HTTP session and the database."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if self.api is not None:
            await self.api.stop()
            self.api = None
        if self.console is not None:
            await self.console.stop()
            self.console = None
        if not await self.inflight.wait_idle(SHUTDOWN_GRACE_SECONDS):
            log.warning("shutting down with updates still in flight")
        await self.jobs.sender.stop()  # sends in flight finish and record their outcome; no new ones start
        await self.jobs.flush()
        if self.jobs.liveness is not None:  # gone at once: no other process waits for a lease to lapse
            try:
                await self.jobs.liveness.stop()
            except Exception as exc:
                log.warning("could not sign this process off (its leases lapse by themselves): %r", exc)
        await self.services["faq"].close()
        await self.services["signals"].close()
        await self.bot.session.close()
        await self.jobs.sender.pacer.flush()  # pauses held at the end reach the other processes
        await self.db.close()


class _Session(AiohttpSession):
    """aiogram waits 250 ms on close for TLS connections to wind down; plain HTTP (a local Bot API server,
    the emulator) has none, so the wait is skipped there.

    aiogram reads every answer as `Response[T]` for the method's type; pydantic keeps that model only
    weakly, so after a garbage collection the next call builds it again (5-15 ms, several times a
    second under load: getUpdates's answer type was rebuilt 15 times per 1,000 updates). The session
    keeps each one it used."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._responses: dict[Any, type] = {}

    async def make_request(self, bot: Bot, method: TelegramMethod[T], timeout: int | None = None) -> T:
        returning = method.__returning__
        if returning not in self._responses:
            self._responses[returning] = Response[returning]  # type: ignore[valid-type]
        try:
            return await super().make_request(bot, method, timeout)
        except TelegramNetworkError as error:
            # aiohttp's errors quote the URL, and the URL holds the token: strip it before the error
            # reaches a log, a stored last_error or a message to the owner. The cause is kept, for
            # whoever classifies the failure.
            error.message = redact(error.message)
            raise

    async def close(self) -> None:
        if self.api.base.startswith("https://"):
            await super().close()
        elif self._session is not None and not self._session.closed:
            await self._session.close()


def build_bot(settings: Settings, pacer: Pacer) -> Bot:
    """The Bot whose every call passes the one outbound layer (pacing, Telegram's pauses)."""
    session = _Session(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(UnchangedEditMiddleware())
    session.middleware(OutboundMiddleware(pacer))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview=LinkPreviewOptions(is_disabled=True)),
    )


@dataclass(frozen=True)
class Core:
    """What every feature is built on."""

    settings: Settings
    content: Content
    clock: Clock
    db: Database
    bot: Bot
    customers: CustomersRepo
    pacer: Pacer
    liveness: Liveness | None = None  # this process as one of several on the database (flows/liveness.py)


async def create_app(settings: Settings, *, clock: Clock | None = None, content: Content | None = None) -> App:
    """Open the database (migrating it), load the content and wire the Dispatcher."""
    content = content or load_content(settings.content_file)
    clock = clock or SystemClock()
    db = await open_database(settings)
    live = LiveContent(content)
    edits = ContentEdits(ContentVersionsRepo(db), live, settings.content_file, clock)
    signals: Signals | None = None
    try:  # whatever fails while starting, nothing stays open (the signals' connection, the database)
        signals = await db.open_signals()  # listening before anything is read: no change falls in between
        live.current = content = await edits.stored() or content  # the file is only the first import
        await set_owners(db, settings.owner_ids)  # the team is never counted as customers (storage/audience.py)
        pacer = Pacer(
            clock, Budget(global_per_second=settings.send_rate_per_second), pace_lanes(settings, db, clock)
        )
        core = Core(settings, content, clock, db, build_bot(settings, pacer), CustomersRepo(db), pacer)
        liveness = Liveness(InstancesRepo(db), LeasesRepo(db), clock)
        await liveness.start()  # before the outbox's recovery, which must know who is alive
        core = replace(core, liveness=liveness)
        services = await build_services(core)
        services["signals"] = signals
        services["faq"].second_opinion = second_opinion(settings, clock)
        await follow_chat_migrations(core, services)
        services["live_content"], services["content_edits"] = live, edits
        edits.media_kinds = services["media"].kinds  # uploads named in content must exist (from now on)
        dp, inflight = build_dispatcher(services)
        app = App(settings, content, clock, db, core.bot, dp, inflight, build_jobs(core, services), services)
    except BaseException:
        if signals is not None:
            await signals.close()
        await db.close()
        raise
    follow_content(live, app)
    await follow_other_processes(services["signals"], services)
    if settings.api_token is not None:
        try:
            await app.start_api()
        except BaseException:
            await app.close()
            raise
    return app


def pace_lanes(settings: Settings, db: Database, clock: Clock) -> Lanes | None:
    """Where the send budget lives: on PostgreSQL in the database, shared by every process
    (flows/shared_pacing.py); on SQLite (one process) in memory, the pacer's default."""
    if db.engine != "postgresql":
        return None
    return SharedLanes(PaceLanesRepo(db, settings.bot_token.get_secret_value().encode()), clock)


async def build_services(core: Core) -> dict[str, Any]:
    """Every flow and repository, by the name handlers ask for it."""
    settings, content, clock, db = core.settings, core.content, core.clock, core.db
    enrollments = EnrollmentsRepo(db)
    sequences = Sequences(db, enrollments, core.customers, content, clock, settings.zone, sequence_button_data)
    media = Media(MediaRepo(db), clock)
    messenger = AiogramMessenger(core.bot, media)
    sender = Sender(
        OutboxRepo(db),
        core.customers,
        messenger,
        clock,
        send_policy(settings),
        core.pacer,
        actions=AiogramChatActions(core.bot),
    )
    sender.broadcast_ahead = functools.partial(broadcast_ahead, db)
    sender.liveness = core.liveness
    await sender.recover()
    staff = Staff(StaffRepo(db), frozenset(settings.owner_ids), clock, settings.manager_chat_id)
    menus = Menus(core.bot, content, staff, core.customers)
    staff.role_changed = menus.refresh
    handoff = build_handoff(core, sequences, staff)
    loyalty = build_loyalty(settings, content, clock, db, core.customers, staff)
    # The features reach each other through these few hooks rather than importing one another.
    sequences.coupons = loyalty["coupons"]
    sequences.earliest_send = sender.earliest_send
    if settings.manager_chat_id is not None:
        loyalty["feedback"].open_lead = handoff.open_lead
    console = await build_console(core, loyalty["coupons"])
    faq = Faq(content, index_builder(content), FaqLogRepo(db), handoff.messages, clock, media=media)
    faq_teaching = FaqTeaching(faq, FaqTeachingRepo(db), KvRepo(db), clock)
    await faq_teaching.refresh()  # what the owner and customers taught, on top of the content file
    console["broadcasts"].earliest_send = sender.earliest_send
    return {
        "settings": settings,
        "content": content,
        "clock": clock,
        "db": db,
        "events": EventsRepo(db),
        "outbox": sender.outbox,
        "media": media,
        "send_to_me": SendToMe(sender.outbox, clock),
        "faq_buttons": FAQ_BUTTONS,
        "sender": sender,
        "liveness": core.liveness,
        "customers": Customers(core.customers, clock),
        "forgetting": Forgetting(db, clock, sender.wait_idle),
        "onboarding": Onboarding(core.customers, content, clock),
        "sequences": sequences,
        "enrollments": enrollments,
        "faq": faq,
        "faq_teaching": faq_teaching,
        "buying_intent": BuyingIntent(content),
        "handoff": handoff,
        "menus": menus,
        "console_access": ConsoleAccess(ConsoleAccessRepo(db), staff, clock),
        **console,
        **loyalty,
        **build_people(core, handoff, loyalty["loyalty"], enrollments, console["segments"], staff),
    }


async def follow_chat_migrations(core: Core, services: dict[str, Any]) -> None:
    """When the managers' group becomes a supergroup (Telegram gives it a new id), remember the new id in
    kv and use it from then on, also after a restart, until MANAGER_CHAT_ID is changed."""
    configured = core.settings.manager_chat_id
    if configured is None:
        return
    kv = KvRepo(core.db)

    def use(chat_id: int) -> None:
        services["handoff"].manager_chat_id = chat_id
        services["feedback"].alert_chats = (chat_id,)

    saved = await kv.get(f"chat_moved:{configured}")
    if saved is not None:
        use(int(saved))

    async def moved(old: int, new: int) -> None:
        if services["handoff"].manager_chat_id == old:
            await kv.set(f"chat_moved:{configured}", str(new))
            use(new)
            await services["signals"].publish(MANAGER_CHAT)  # the other processes read it from kv too

    async def reread() -> None:
        saved = await kv.get(f"chat_moved:{configured}")
        if saved is not None:
            use(int(saved))

    services["signals"].subscribe(MANAGER_CHAT, reread)

    services["sender"].on_migrate = moved
    services["sender"].on_topic_lost = services["handoff"].topic_lost


def second_opinion(settings: Settings, clock: Clock) -> SecondOpinion | None:
    """The language model asked on the FAQ's close calls, when FAQ_LLM_URL is set."""
    if not settings.faq_llm_url:
        return None
    assert settings.faq_llm_model is not None  # settings refuse a URL without a model
    key = settings.faq_llm_key.get_secret_value() if settings.faq_llm_key else None
    endpoint = Endpoint(settings.faq_llm_url, settings.faq_llm_model, key, settings.faq_llm_timeout)
    return SecondOpinion(endpoint, clock)


def build_handoff(core: Core, sequences: Sequences, staff: Staff) -> Handoff:
    """Leads for the managers' chat: cards, relays and reminders."""
    settings = core.settings
    return Handoff(
        db=core.db,
        leads=LeadsRepo(core.db),
        outbox=OutboxRepo(core.db),
        customers=core.customers,
        messages=MessagesRepo(core.db),
        sequences=sequences,
        topics=AiogramTopics(core.bot),
        content=core.content,
        clock=core.clock,
        zone=settings.zone,
        manager_chat_id=settings.manager_chat_id,
        reminder_minutes=settings.lead_reminder_minutes,
        idle_close=timedelta(hours=settings.lead_idle_close_hours) or None,
        card_button_data=lead_button_data,
        role_of=staff.role_of,
    )


async def build_console(core: Core, coupons: Coupons) -> dict[str, Any]:
    """The owner's console: segments, broadcasts and analytics."""
    settings, db = core.settings, core.db
    segments = Segments(SegmentsRepo(db), core.content, core.clock, settings.zone)
    broadcasts = Broadcasts(
        db=db,
        repo=BroadcastsRepo(db),
        segments=segments,
        coupons=coupons,
        content=core.content,
        clock=core.clock,
        zone=settings.zone,
        rate=settings.send_rate_per_second,
        attribution_days=settings.broadcast_attribution_days,
        button_data=broadcast_button_data,
        board=AiogramProgressBoard(core.bot),
        controls=control_buttons,
    )
    analytics = Analytics(
        AnalyticsRepo(db),
        core.content,
        core.clock,
        settings.zone,
        broadcast_days=settings.broadcast_attribution_days,
    )
    return {
        "segments": segments,
        "broadcasts": broadcasts,
        "analytics": analytics,
        "stats_cache": StatsCache(analytics, core.clock),
        "telegram_bot": core.bot,  # the console asks it for the bot's username (invite links)
    }


def build_jobs(core: Core, services: dict[str, Any]) -> Jobs:
    return Jobs(
        services["sequences"],
        services["sender"],
        core.customers,
        KvRepo(core.db),
        core.clock,
        core.settings.zone,
        core.settings.daily_jobs_at,
        handoff=services["handoff"],
        written_behind=(services["faq"].log.flush,),
        liveness=core.liveness,
        loyalty=services["loyalty"],
        coupons=services["coupons"],
        broadcasts=services["broadcasts"],
        retention=Retention(
            core.db,
            services["broadcasts"].repo,
            core.clock,
            retention_policy(core.settings),
            core.settings.broadcast_attribution_days,
        ),
    )


def retention_policy(settings: Settings) -> RetentionPolicy:
    """The retention windows from the settings (days; 0 keeps forever)."""
    return RetentionPolicy(
        events_days=settings.retention_events_days,
        outbox_days=settings.retention_outbox_days,
        audit_days=settings.retention_audit_days,
        faq_log_days=settings.retention_faq_log_days,
        leads_days=settings.retention_leads_days,
        drafts_days=settings.retention_drafts_days,
        invites_days=settings.retention_invites_days,
        broadcasts_days=settings.retention_broadcasts_days,
    )


def build_dispatcher(services: dict[str, Any]) -> tuple[Dispatcher, InFlightMiddleware]:
    """The Dispatcher with the per-update middlewares, the routers and, as workflow data, the services its
    handlers ask for."""
    dp = LeanDispatcher()
    inflight = InFlightMiddleware()
    dp.update.outer_middleware(inflight)
    dp.update.outer_middleware(CustomerMiddleware(services["customers"], services["content"]))
    dp.callback_query.outer_middleware(SamePressMiddleware())
    dp.include_routers(*get_routers())
    dp.startup.register(services["menus"].announce)
    dp.carry(services, *CustomerMiddleware.READS)
    return dp, inflight


def build_people(
    core: Core, handoff: Handoff, loyalty: Loyalty, enrollments: EnrollmentsRepo, segments: Segments, staff: Staff
) -> dict[str, Any]:
    """Looking customers up and acting on one (the console's Customers pages), over the bot's own flows."""
    repo = PeopleRepo(core.db)
    people = People(core.db, repo, loyalty, handoff, enrollments, staff.current_role, core.clock)
    return {"people": people, "people_search": PeopleSearch(repo, segments)}


def build_loyalty(
    settings: Settings,
    content: Content,
    clock: Clock,
    db: Database,
    customers_repo: CustomersRepo,
    staff: Staff | None = None,
) -> dict[str, Any]:
    """Points, purchases, coupons, referrals, staff and feedback, wired on one database."""
    zone = settings.zone
    notices = Notices(content, loyalty_buttons())
    ledger = LedgerRepo(db)
    purchases_repo = PurchasesRepo(db)
    loyalty = Loyalty(db, ledger, purchases_repo, customers_repo, content, notices, clock, zone)
    coupons = Coupons(db, CouponsRepo(db), content, notices, clock, zone)
    referrals = Referrals(db, ledger, loyalty, notices, clock)
    purchases = Purchases(
        db, content, loyalty, coupons, referrals, notices, clock, timedelta(days=settings.feedback_every_days)
    )
    sales = Sales(
        db,
        purchases_repo,
        ledger,
        purchases,
        loyalty,
        content,
        notices,
        clock,
        settings.max_purchase_amount,
        owner_ids=frozenset(settings.owner_ids),
    )
    alert_chats = (settings.manager_chat_id,) if settings.manager_chat_id else tuple(settings.owner_ids)
    return {
        "ledger": ledger,
        "purchases_repo": purchases_repo,
        "loyalty": loyalty,
        "coupons": coupons,
        "referrals": referrals,
        "purchases": purchases,
        "sales": sales,
        "staff": staff or Staff(StaffRepo(db), frozenset(settings.owner_ids), clock, settings.manager_chat_id),
        "feedback": Feedback(db, purchases_repo, loyalty, content, notices, clock, alert_chats),
    }


def build_imports(settings: Settings, content: Content, clock: Clock, db: Database) -> Imports:
    """The CSV importer (`nurture-bot import`) on its own connections: the same loyalty as the bot's."""
    loyalty = build_loyalty(settings, content, clock, db, CustomersRepo(db))
    return Imports(
        db,
        loyalty["purchases"],
        loyalty["loyalty"],
        loyalty["ledger"],
        content,
        settings.zone,
        settings.max_purchase_amount,
    )


def send_policy(settings: Settings) -> SendPolicy:
    quiet = settings.quiet_window
    return SendPolicy(
        quiet_start=quiet[0] if quiet else None,
        quiet_end=quiet[1] if quiet else time(0),
        budget_day=settings.contact_budget_per_day,
        budget_week=settings.contact_budget_per_week,
        broadcast_reserve=timedelta(hours=settings.broadcast_reserve_hours),
        zone=settings.zone,
    )


async def serve_webhook(app: App, stop: asyncio.Event, *, scheduler: bool = True) -> None:
    """Serve Telegram's webhook POSTs until `stop` is set; the secret token is checked on every request.

    Updates are handled before the POST is answered, so an update that fails half-way is redelivered
    by Telegram instead of being lost; replays are skipped by the processed-updates check.
    Without WEBHOOK_SECRET a random one is made and registered, so a forged POST is refused either way.
    """
    settings = app.settings
    assert settings.webhook_url is not None
    secret = webhook_secret(settings)
    limits = http_limits(settings, WEBHOOK_MAX_BODY)
    web_app = limited_app(limits)
    WebhookHandler(app.dp, app.bot, secret).register(web_app, path=WEBHOOK_PATH)
    runner = await start_server(web_app, settings.webhook_host, settings.webhook_port, limits)
    workflow = {k: v for k, v in app.dp.workflow_data.items() if k != "bot"}
    await app.dp.emit_startup(bot=app.bot, **workflow)
    if scheduler:
        app.start_scheduler()
    try:
        await app.bot.set_webhook(
            f"{settings.webhook_url}{WEBHOOK_PATH}",
            secret_token=secret,
            allowed_updates=app.dp.resolve_used_update_types(),
            drop_pending_updates=False,
        )
        log.info("webhook listening on %s:%s%s", settings.webhook_host, settings.webhook_port, WEBHOOK_PATH)
        await stop.wait()
    finally:
        await runner.cleanup()
        await app.dp.emit_shutdown(bot=app.bot, **workflow)


async def run_webhook(app: App) -> None:
    """Webhook mode until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve_webhook(app, stop)
