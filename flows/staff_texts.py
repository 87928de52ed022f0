"""The team's words: command menu descriptions and /help sections for owners, managers and cashiers.

One small catalogue, keyed by language and message id (`cmd.sale`, `help.cashier`), so that it can move
to gettext catalogues as it is: each id becomes a msgid, each language a .po file. Customer-facing help
stays in the content file (`texts.<language>.help`); the customer menu's one-line descriptions live here
too, because they are part of the bot's frame (like Telegram's own buttons), not the owner's words, and a
new required content key would break every owner's existing content file.
"""

from __future__ import annotations

from flows.markup import Html, trusted

# The commands each role sees in its menu, in menu order. A role's menu is its own commands, then the
# customer ones (owners and staff can use the bot as customers too).
CUSTOMER_COMMANDS = (
    "start",
    "card",
    "balance",
    "coupons",
    "invite",
    "faq",
    "manager",
    "profile",
    "language",
    "help",
    "stop",
)
CASHIER_COMMANDS = ("sale", "redeem")
MANAGER_COMMANDS = (*CASHIER_COMMANDS, "points", "segment", "broadcast", "broadcasts")
OWNER_COMMANDS = ("stats", "leads", "questions", "taught", "sequences", "preview", "staff", *MANAGER_COMMANDS)
ROLE_COMMANDS: dict[str, tuple[str, ...]] = {
    "customer": (),
    "cashier": CASHIER_COMMANDS,
    "manager": MANAGER_COMMANDS,
    "owner": OWNER_COMMANDS,
}
# /help sections each role reads, before the customer help.
ROLE_SECTIONS: dict[str, tuple[str, ...]] = {
    "customer": (),
    "cashier": ("help.cashier",),
    "manager": ("help.cashier", "help.manager"),
    "owner": ("help.owner", "help.cashier", "help.manager"),
}

CATALOGUE: dict[str, dict[str, str]] = {
    "en": {
        "cmd.start": "Start",
        "cmd.card": "My loyalty card",
        "cmd.balance": "Points and history",
        "cmd.coupons": "My coupons",
        "cmd.invite": "Invite a friend",
        "cmd.faq": "Questions and answers",
        "cmd.manager": "Talk to a manager",
        "cmd.profile": "My profile",
        "cmd.language": "Language",
        "cmd.help": "What the bot can do",
        "cmd.stop": "No more offers",
        "cmd.sale": "Record a sale: CARD AMOUNT",
        "cmd.redeem": "Redeem a coupon: CODE",
        "cmd.points": "Correct points: CARD +50 reason",
        "cmd.segment": "Count a segment of customers",
        "cmd.broadcast": "Send a message to a segment",
        "cmd.broadcasts": "Latest broadcasts and their results",
        "cmd.stats": "The business in numbers",
        "cmd.leads": "Leads and their outcomes",
        "cmd.questions": "Questions the FAQ answered and missed",
        "cmd.taught": "What the FAQ learned, to undo",
        "cmd.sequences": "How each sequence performs",
        "cmd.preview": "Preview a sequence: NAME",
        "cmd.staff": "Your team: invite and revoke",
        "help.owner": (
            "<b>For owners</b>\n"
            "/stats [7d|30d|90d|365d|month|year|all] — the business in numbers, with charts\n"
            "/leads — leads and their outcomes; /questions — what the FAQ answered and missed, to teach it "
            "with one tap; /taught — what it learned, to undo\n"
            "/sequences — how each sequence performs; /preview NAME — a sequence as customers see it\n"
            "/staff — invite a cashier or a manager with a one-time link, list the team, revoke access"
        ),
        "help.cashier": (
            "<b>At the counter</b>\n"
            "/sale CARD AMOUNT [category] — record a sale (or scan the customer's card QR)\n"
            "/redeem CODE — redeem a customer's coupon"
        ),
        "help.manager": (
            "<b>For managers</b>\n"
            "/points CARD +50 reason — correct a customer's points\n"
            "/segment EXPRESSION — how many customers match, with examples\n"
            "/broadcast [segment] — a message to a segment: preview, now or later, live progress\n"
            "/broadcasts — the latest broadcasts and what they brought"
        ),
        "help.customer": "<b>As a customer</b>",
    },
    "ru": {
        "cmd.start": "Начать",
        "cmd.card": "Моя карта лояльности",
        "cmd.balance": "Баллы и история",
        "cmd.coupons": "Мои купоны",
        "cmd.invite": "Пригласить друга",
        "cmd.faq": "Вопросы и ответы",
        "cmd.manager": "Связаться с менеджером",
        "cmd.profile": "Мой профиль",
        "cmd.language": "Язык",
        "cmd.help": "Что умеет бот",
        "cmd.stop": "Не присылать предложения",
        "cmd.sale": "Провести продажу: КАРТА СУММА",
        "cmd.redeem": "Погасить купон: КОД",
        "cmd.points": "Исправить баллы: КАРТА +50 причина",
        "cmd.segment": "Посчитать сегмент клиентов",
        "cmd.broadcast": "Рассылка по сегменту",
        "cmd.broadcasts": "Последние рассылки и их результаты",
        "cmd.stats": "Бизнес в цифрах",
        "cmd.leads": "Заявки и их итоги",
        "cmd.questions": "На что FAQ ответил и на что нет",
        "cmd.taught": "Чему FAQ научился — можно отменить",
        "cmd.sequences": "Как работает каждая цепочка",
        "cmd.preview": "Просмотр цепочки: НАЗВАНИЕ",
        "cmd.staff": "Команда: пригласить и отозвать доступ",
        "help.owner": (
            "<b>Для владельца</b>\n"
            "/stats [7d|30d|90d|365d|month|year|all] — бизнес в цифрах, с графиками\n"
            "/leads — заявки и их итоги; /questions — на что FAQ ответил и на что нет, научить его одним "
            "нажатием; /taught — чему он научился, чтобы отменить\n"
            "/sequences — как работает каждая цепочка; /preview НАЗВАНИЕ — цепочка глазами клиента\n"
            "/staff — пригласить кассира или менеджера одноразовой ссылкой, список команды, отзыв доступа"
        ),
        "help.cashier": (
            "<b>На кассе</b>\n"
            "/sale КАРТА СУММА [категория] — провести продажу (или отсканируйте QR карты клиента)\n"
            "/redeem КОД — погасить купон клиента"
        ),
        "help.manager": (
            "<b>Для менеджеров</b>\n"
            "/points КАРТА +50 причина — исправить баллы клиента\n"
            "/segment ВЫРАЖЕНИЕ — сколько клиентов подходит, с примерами\n"
            "/broadcast [сегмент] — рассылка по сегменту: просмотр, сейчас или позже, ход отправки\n"
            "/broadcasts — последние рассылки и что они принесли"
        ),
        "help.customer": "<b>Как клиент</b>",
    },
    "uk": {
        "cmd.start": "Почати",
        "cmd.card": "Моя картка лояльності",
        "cmd.balance": "Бали та історія",
        "cmd.coupons": "Мої купони",
        "cmd.invite": "Запросити друга",
        "cmd.faq": "Питання та відповіді",
        "cmd.manager": "Зв'язатися з менеджером",
        "cmd.profile": "Мій профіль",
        "cmd.language": "Мова",
        "cmd.help": "Що вміє бот",
        "cmd.stop": "Не надсилати пропозиції",
        "cmd.sale": "Провести продаж: КАРТКА СУМА",
        "cmd.redeem": "Погасити купон: КОД",
        "cmd.points": "Виправити бали: КАРТКА +50 причина",
        "cmd.segment": "Порахувати сегмент клієнтів",
        "cmd.broadcast": "Розсилка за сегментом",
        "cmd.broadcasts": "Останні розсилки та їхні результати",
        "cmd.stats": "Бізнес у цифрах",
        "cmd.leads": "Заявки та їхні підсумки",
        "cmd.questions": "На що FAQ відповів, а на що ні",
        "cmd.taught": "Чого FAQ навчився — можна скасувати",
        "cmd.sequences": "Як працює кожен ланцюжок",
        "cmd.preview": "Перегляд ланцюжка: НАЗВА",
        "cmd.staff": "Команда: запросити та відкликати доступ",
        "help.owner": (
            "<b>Для власника</b>\n"
            "/stats [7d|30d|90d|365d|month|year|all] — бізнес у цифрах, з графіками\n"
            "/leads — заявки та їхні підсумки; /questions — на що FAQ відповів, а на що ні, навчити його "
            "одним дотиком; /taught — чого він навчився, щоб скасувати\n"
            "/sequences — як працює кожен ланцюжок; /preview НАЗВА — ланцюжок очима клієнта\n"
            "/staff — запросити касира чи менеджера одноразовим посиланням, список команди, відкликання доступу"
        ),
        "help.cashier": (
            "<b>На касі</b>\n"
            "/sale КАРТКА СУМА [категорія] — провести продаж (або відскануйте QR картки клієнта)\n"
            "/redeem КОД — погасити купон клієнта"
        ),
        "help.manager": (
            "<b>Для менеджерів</b>\n"
            "/points КАРТКА +50 причина — виправити бали клієнта\n"
            "/segment ВИРАЗ — скільки клієнтів підходить, з прикладами\n"
            "/broadcast [сегмент] — розсилка за сегментом: перегляд, зараз або пізніше, хід надсилання\n"
            "/broadcasts — останні розсилки та що вони принесли"
        ),
        "help.customer": "<b>Як клієнт</b>",
    },
}
DEFAULT_LANGUAGE = "en"


def text(language: str, message_id: str) -> str:
    """The catalogue's text for a message id, in `language` (English when that language lacks it)."""
    return CATALOGUE.get(language, {}).get(message_id) or CATALOGUE[DEFAULT_LANGUAGE][message_id]


def menu(role: str | None, language: str) -> list[tuple[str, str]]:
    """(command, description) pairs of the menu for a role (None: a customer), in `language`."""
    own = ROLE_COMMANDS[role or "customer"]
    commands = [*own, *(c for c in CUSTOMER_COMMANDS if c not in own)]
    return [(command, text(language, f"cmd.{command}")) for command in commands]


def help_text(role: str | None, language: str, customer_help: Html) -> Html:
    """/help for a role: its team sections first, then the customer help (from the content file)."""
    sections = ROLE_SECTIONS[role or "customer"]
    if not sections:
        return customer_help
    parts = [trusted(text(language, section)) for section in sections]
    parts.append(trusted(text(language, "help.customer") + "\n") + customer_help)
    return Html("\n\n").join(parts)
