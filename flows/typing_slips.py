"""What a customer meant when the letters came out wrong: a keyboard-layout slip or Russian/Ukrainian
typed in Latin letters.

Two kinds of slip, both common in a shop's chat:
- the wrong keyboard layout: "crjkmrj cnjbn" is "сколько стоит" typed with the English layout on, and
  "ерфтл нщг" is "thank you" typed with the Russian one;
- transliteration: "skolko stoit", "tsina", "de vy" — Cyrillic words spelt in Latin letters, in one of
  the informal ways people do it (there is no one scheme: "ja" and "ya", "c" and "ts", "h" and "kh").

These functions only propose candidates, most likely first and a few at most; whoever calls them
decides which one to use (by checking the words against the FAQ's vocabulary). Nothing here knows the
FAQ.

The transliteration is a small table of our own, not a library: the maintained libraries (cyrtranslit,
iuliia, translitua) implement one formal scheme each, mostly Cyrillic → Latin, and give one answer; people
typing informally need several readings ranked ("c" may be "ц" or "к", "y" is "ы" in Russian and "и" in
Ukrainian, a soft sign is usually left out), which a ranked table with a small beam does in a few lines.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from flows.lemmas import lemma

# One row per physical key, unshifted then shifted: what the English (US QWERTY), Russian and Ukrainian
# (ЙЦУКЕН) layouts put on the same key. Letters are given once (case is carried over); the punctuation
# keys are listed because they are letters in the other layout ("," is б, "." is ю, ";" is ж).
_EN = "`qwertyuiop[]asdfghjkl;'zxcvbnm,./~{}:\"<>?&\\|"
_RU = "ёйцукенгшщзхъфывапролджэячсмитьбю.ёхъжэбю,?\\/"
_UK = "'йцукенгшщзхїфівапролджєячсмитьбю.'хїжєбю,?ґґ"
assert len(_EN) == len(_RU) == len(_UK)

_LATIN_TO = {
    "ru": {en: ru for en, ru in zip(_EN, _RU, strict=True) if en != ru},
    "uk": {en: uk for en, uk in zip(_EN, _UK, strict=True) if en != uk},
}
# Cyrillic typed on the Russian or Ukrainian layout when English was meant (the two agree where they overlap).
_CYRILLIC_TO_EN: dict[str, str] = {}
for _layout in (_RU, _UK):
    for _en, _cyr in zip(_EN, _layout, strict=True):
        if _en != _cyr and (not _cyr.isascii() or _cyr in ".,?'"):
            _CYRILLIC_TO_EN.setdefault(_cyr, _en)

_LATIN_LETTER = re.compile(r"[a-z]")
_CYRILLIC_LETTER = re.compile(r"[а-яёіїєґ]")


def _convert(word: str, table: dict[str, str]) -> str | None:
    """Every character through the table (case carried over); None when one of them is not on it."""
    out = []
    for char in word:
        lower = char.lower()
        mapped = table.get(lower)
        if mapped is None:
            return None
        out.append(mapped.upper() if char != lower else mapped)
    return "".join(out)


def layout_variants(word: str) -> list[str]:
    """A word typed with the wrong keyboard layout, as it was meant: Latin → Russian, then Ukrainian
    (they differ on і/ы, ї/ъ, є/э, ґ); Cyrillic → English. Empty when the word cannot be a slip (digits,
    emoji, Latin and Cyrillic letters mixed, signs that are on no layout's letter key)."""
    lowered = word.lower()
    if _LATIN_LETTER.search(lowered) and not _CYRILLIC_LETTER.search(lowered):
        found = [_convert(word, _LATIN_TO["ru"]), _convert(word, _LATIN_TO["uk"])]
    elif _CYRILLIC_LETTER.search(lowered) and not _LATIN_LETTER.search(lowered):
        found = [_convert(word, _CYRILLIC_TO_EN)]
    else:
        return []
    return [v for v in dict.fromkeys(found) if v is not None and v != word]


def layout_variants_of_text(text: str) -> list[str]:
    """The whole raw message (punctuation still in it: "," may be б) as typed on each other layout:
    Russian, Ukrainian, English, in that order, only those that change something. Each space-separated
    token that can be a slip is converted; the rest (digits, emoji, links, mixed words) stays as it is."""
    variants: dict[str, None] = {}
    for target in ("ru", "uk", "en"):
        changed = False
        tokens = []
        for token in re.split(r"(\s+)", text):
            converted = _token_in(token, target)
            changed |= converted is not None
            tokens.append(token if converted is None else converted)
        if changed:
            variants.setdefault("".join(tokens), None)
    return [v for v in variants if v != text]


def _token_in(token: str, target: str) -> str | None:
    lowered = token.lower()
    if target == "en":
        if not _CYRILLIC_LETTER.search(lowered) or _LATIN_LETTER.search(lowered):
            return None
        return _convert(token, _CYRILLIC_TO_EN)
    if not _LATIN_LETTER.search(lowered) or _CYRILLIC_LETTER.search(lowered):
        return None
    whole = _convert(token, _LATIN_TO[target])
    # A comma or full stop after a word is more often punctuation than б or ю: "ghbdtn," is "привет,",
    # not "приветб" — when the word is a dictionary's without the letter and not with it.
    if whole is None or len(token) < 3 or token[-1] not in ",.<>" or _LATIN_LETTER.search(token[-1]):
        return whole
    bare = _convert(token[:-1], _LATIN_TO[target])
    if bare is not None and lemma(bare.lower())[1] and not lemma(whole.lower())[1]:
        return bare + token[-1]
    return whole


# --- transliteration -------------------------------------------------------------------------------

_VOWELS = frozenset("aeiouy")
MAX_WORD = 30  # longer "words" are links or noise: no variants, and the work stays bounded
BEAM = 6  # partial readings kept per position
VARIANTS = 4  # at most this many candidates for one word


@dataclass(frozen=True)
class _Option:
    cyrillic: str
    cost: float  # 0 = the usual reading; higher = less likely


def _o(*pairs: tuple[str, float]) -> tuple[_Option, ...]:
    return tuple(_Option(c, cost) for c, cost in pairs)


# Latin spellings and their readings, per language; longer spellings are tried first at each position.
_COMMON: dict[str, tuple[_Option, ...]] = {
    "shch": _o(("щ", 0)),
    "sch": _o(("щ", 0), ("сч", 0.5)),
    "sh": _o(("ш", 0)),
    "ch": _o(("ч", 0)),
    "zh": _o(("ж", 0)),
    "kh": _o(("х", 0)),
    "ts": _o(("ц", 0), ("тс", 0.6)),
    "tz": _o(("ц", 0.3)),
    "ya": _o(("я", 0)),
    "ja": _o(("я", 0)),
    "ia": _o(("ия", 0.2), ("я", 0.3)),
    "yu": _o(("ю", 0)),
    "ju": _o(("ю", 0)),
    "iu": _o(("ю", 0.3)),
    "yo": _o(("ё", 0), ("йо", 0.4)),
    "jo": _o(("ё", 0), ("йо", 0.4)),
    "a": _o(("а", 0)),
    "b": _o(("б", 0)),
    "c": _o(("ц", 0), ("к", 0.4), ("с", 0.7)),
    "d": _o(("д", 0)),
    "f": _o(("ф", 0)),
    "g": _o(("г", 0)),
    "j": _o(("й", 0), ("ж", 0.8)),
    "k": _o(("к", 0)),
    "l": _o(("л", 0)),
    "m": _o(("м", 0)),
    "n": _o(("н", 0)),
    "o": _o(("о", 0)),
    "p": _o(("п", 0)),
    "q": _o(("к", 0)),
    "r": _o(("р", 0)),
    "s": _o(("с", 0)),
    "t": _o(("т", 0)),
    "u": _o(("у", 0)),
    "v": _o(("в", 0)),
    "w": _o(("в", 0), ("ш", 0.8)),
    "x": _o(("кс", 0), ("х", 0.3)),
    "z": _o(("з", 0)),
    "'": _o(("ь", 0), ("ъ", 0.8)),
}
_LANGUAGE: dict[str, dict[str, tuple[_Option, ...]]] = {
    "ru": {
        "ye": _o(("е", 0), ("ье", 0.3)),
        "je": _o(("е", 0), ("ье", 0.3)),
        "e": _o(("е", 0)),
        "h": _o(("х", 0), ("г", 0.8)),
        "i": _o(("и", 0), ("й", 0.5)),
        "y": _o(("ы", 0), ("й", 0.4), ("и", 0.6)),
    },
    "uk": {
        "yi": _o(("ї", 0), ("ий", 0.3)),
        "ji": _o(("ї", 0)),
        "ye": _o(("є", 0), ("е", 0.5)),
        "je": _o(("є", 0)),
        "ie": _o(("іє", 0.2), ("є", 0.3)),
        "e": _o(("е", 0), ("є", 0.7)),
        "h": _o(("г", 0), ("х", 0.5)),
        "g": _o(("г", 0), ("ґ", 0.3)),
        "i": _o(("і", 0), ("и", 0.5), ("ї", 0.7)),
        "y": _o(("и", 0), ("й", 0.4)),
        "'": _o(("ь", 0), ("'", 0.2)),
    },
}
_REFLEXIVE = ("tsya", "tsja", "tsa")  # -ться / -тся at a word's end ("zapisatsya", "nahoditsya")
_CHUNK = 0.05  # every spelling read adds this: "ch" read as ч beats "c" + "h" read as цх


def _options(language: str, word: str, i: int) -> list[tuple[int, _Option]]:
    """Every spelling that starts at position i, with its readings, adjusted to the context."""
    table = _LANGUAGE[language]
    found: list[tuple[int, _Option]] = []
    rest = word[i:]
    if language == "ru" and rest in _REFLEXIVE:
        found += [(len(rest), _Option("ться", 0)), (len(rest), _Option("тся", 0.03))]
    for size in (4, 3, 2, 1):
        chunk = word[i : i + size]
        options = table.get(chunk) or _COMMON.get(chunk) if len(chunk) == size else None
        if options:
            found += [(size, _adjust(word, i, size, option)) for option in options]
    after = word[i + 1] if i + 1 < len(word) else ""
    if word[i] == "l" and after and after not in _VOWELS and after != "'":
        # A soft sign is rarely typed, and after л before a consonant it is more often there than not.
        found.append((1, _Option("ль", 0)))
        found = [(s, _Option(o.cyrillic, 0.2) if o.cyrillic == "л" else o) for s, o in found]
    return found


def _adjust(word: str, i: int, size: int, option: _Option) -> _Option:
    """Context: "y" after a vowel and not before one is й ("kakoy"); "i" ending a word after a vowel may
    be й ("moi", "kakoi"), though и stays first ("stoit", "moi")."""
    before = word[i - 1] if i else ""
    after = word[i + size] if i + size < len(word) else ""
    chunk = word[i : i + size]
    if chunk == "y" and before in _VOWELS and after not in _VOWELS:
        return _Option(option.cyrillic, 0.0 if option.cyrillic == "й" else option.cost + 0.5)
    if chunk == "i" and before in _VOWELS and not after and option.cyrillic == "й":
        return _Option("й", 0.1)
    return option


def _read(language: str, word: str) -> list[tuple[float, str]]:
    """The best few readings of a Latin word in one language, cheapest first (a beam over positions)."""
    beams: list[dict[str, float]] = [{} for _ in range(len(word) + 1)]
    beams[0][""] = 0.0
    for i in range(len(word)):
        kept = heapq.nsmallest(BEAM, beams[i].items(), key=lambda item: item[1])
        for size, option in _options(language, word, i):
            for reading, cost in kept:
                text, total = reading + option.cyrillic, cost + option.cost + _CHUNK
                target = beams[i + size]
                if total < target.get(text, float("inf")):
                    target[text] = total
    if language == "ru" and word.startswith("e"):
        beams[-1].update({"э" + t[1:]: c + 0.3 for t, c in list(beams[-1].items()) if t.startswith("е")})
    return [(cost, text) for text, cost in heapq.nsmallest(VARIANTS, beams[-1].items(), key=lambda i: i[1])]


def transliteration_variants(word: str, languages: Sequence[str] = ("ru", "uk")) -> list[str]:
    """Cyrillic readings of a word typed in Latin letters ("tsina" → "ціна", "pochem" → "почем"), at most
    four, most likely first; on a tie the order of `languages` decides. Empty for anything that is not a
    plain Latin word (digits, emoji, Cyrillic, mixed, longer than 30 letters)."""
    lowered = word.lower().replace("’", "'").replace("ʼ", "'")
    if not lowered or len(lowered) > MAX_WORD or not re.fullmatch(r"[a-z']+", lowered):
        return []
    if not _LATIN_LETTER.search(lowered):
        return []
    return list(_readings(lowered, tuple(languages)))


@lru_cache(maxsize=4096)  # customers repeat words; a reading costs ~0.1 ms
def _readings(word: str, languages: tuple[str, ...]) -> tuple[str, ...]:
    known = [language for language in languages if language in _LANGUAGE]
    each = -(-VARIANTS // max(len(known), 1))  # every language keeps its share of the few places
    ranked: list[tuple[float, int, int, str]] = []
    for rank, language in enumerate(known):
        readings = _read(language, word)[:each]
        ranked += [(cost, place, rank, text) for place, (cost, text) in enumerate(readings)]
    ranked.sort()
    return tuple(dict.fromkeys(text for *_, text in ranked))[:VARIANTS]


def transliteration_variants_of_text(text: str, languages: Sequence[str] = ("ru", "uk")) -> list[str]:
    """A whole message typed in Latin letters read as each language ("skolko stoit" → "сколько стоит",
    "de vy" → "де ви"): the best reading of every word in one language, one candidate per language.
    Words that are not plain Latin words (numbers, emoji, Cyrillic) stay as they are."""
    results: dict[str, None] = {}
    tokens = re.split(r"([^\w'’ʼ]+)", text)
    for language in languages:
        out, changed = [], False
        for token in tokens:
            best = transliteration_variants(token, (language,))[:1]
            changed |= bool(best)
            out.append(best[0] if best else token)
        if changed:
            results.setdefault("".join(out), None)
    return list(results)
