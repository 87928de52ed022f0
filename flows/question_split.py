"""Several questions in one message, and a bound on how much of a long message is read at all.

"How much is a month? And do you have parking" is two questions; a 4,000-character letter is read only
as far as its first few sentences. The bound is what keeps a long message as cheap as a short one for
whatever matches the pieces afterwards: at most `limit` pieces of at most `PIECE_WORDS` words and
`TOTAL_WORDS` words together, all from the first `READ_LIMIT` characters.
"""

from __future__ import annotations

import re

READ_LIMIT = 600  # characters: the first few sentences; a question is not at the end of an essay
PIECE_WORDS = 30  # words: more than any question needs
TOTAL_WORDS = 45  # words in all pieces together: what matching costs grows with the words it is given
QUESTIONS = 3  # pieces

# Sentence ends: ? and ! (also without a space after: "how much?where are you"), a full stop before a
# space (so "25.12" and "12.30" stay whole), an ellipsis, a new line.
_SENTENCE_END = re.compile(r"[?!]+|[.…]+(?=\s)|[.…]+$|[\r\n]+")
# Phrases that join a second question to the first ("…, and also do you …", "а ещё где вы").
_JOINERS = re.compile(
    r"(?:\band also\b|[,;—–-]\s*also\b|\bа\s+ещ[её]\b|\bи\s+ещ[её]\b|\bа\s+также\b|\bі\s+ще\b|\bа\s+ще\b|\bа\s+також\b)",
    re.IGNORECASE,
)
_HAS_WORD = re.compile(r"[^\W_]")  # a letter or a digit: emoji and punctuation alone are not a question
_EDGES = " \t\r\n,;:—–-"
_QUESTION_WORDS = frozenset(
    """
    how what when where why who which whose can could do does did is are will would
    сколько почём почем где когда как какой какая какое какие каков что чем почему зачем куда откуда кто
    чей можно разве
    скільки почім де коли як який яка яке які що чим чому навіщо куди звідки хто чий чи можна
    """.split()  # noqa: SIM905 -- a word list reads better as text
)
_ENDS_WITH_QUESTION_MARK = re.compile(r"\?[^\w?]*$")
_LEADING_FILLERS = frozenset("а и і й но але and but so ну ой".split())  # noqa: SIM905


def split_questions(text: str, limit: int = QUESTIONS) -> list[str]:
    """The questions in a message, in order: split on sentence ends and joining phrases ("and also",
    "а ещё", "а також" …), empty pieces dropped, at most `limit` pieces of at most 30 words each and 45
    together, all from the first 600 characters. Emoji and punctuation alone make no piece, so an emoji-only message gives []."""
    head = _head(text)
    pieces: list[str] = []
    budget = TOTAL_WORDS
    for sentence in _sentences(head):
        for part in _JOINERS.split(sentence):
            piece = part.strip(_EDGES)
            if piece and _HAS_WORD.search(piece):
                words = piece.split()[: min(PIECE_WORDS, budget)]
                pieces.append(" ".join(words))
                budget -= len(words)
                if len(pieces) >= limit or budget <= 0:
                    return pieces
    return pieces


def _sentences(text: str) -> list[str]:
    """The text cut after each sentence end, the end kept with its sentence ("how much?")."""
    found, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        found.append(text[start : end.end()])
        start = end.end()
    found.append(text[start:])
    return found


def _head(text: str) -> str:
    """The first READ_LIMIT characters, without a word cut in half at the end."""
    if len(text) <= READ_LIMIT:
        return text
    head = text[:READ_LIMIT]
    if not text[READ_LIMIT].isspace():
        head = head.rsplit(None, 1)[0] if " " in head or "\n" in head else head
    return head


def looks_like_question(text: str) -> bool:
    """True for a message that is clearly a question: it ends with "?" or starts with a question word
    ("а сколько стоит занятие", "where are you"). A date, a phone number or "skip" is not."""
    stripped = text.strip()
    if not re.search(r"[^\W\d_]", stripped):  # no letter: "25.12?" is a date said uncertainly
        return False
    if _ENDS_WITH_QUESTION_MARK.search(stripped):  # "?" then maybe a smiley or a bracket
        return True
    words = [w for w in re.split(r"[^\w]+", stripped[:200].casefold()) if w]
    while words and words[0] in _LEADING_FILLERS:
        words = words[1:]
    return bool(words) and words[0] in _QUESTION_WORDS
