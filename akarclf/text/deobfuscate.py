"""Undo the ways a seller disguises a title's words so that the classifier still reads them.

A seller whose listing was blocked once will try again with the same product written so that
the model no longer recognises it: letters hidden behind zero-width characters or soft hyphens,
Latin letters swapped for Cyrillic or Greek look-alikes, words spelled out letter by letter
(``k.a.o.s``), a space in the middle of each word (``ka os``), digits for letters (``k4os``),
stretched letters (``kaaaaos``). Each step here undoes one of those tricks and reports whether
it changed the title, so that the gate can treat a disguise as a signal of its own.

Steps that could also damage an honest title (rejoining letters or fragments, reading digits
as letters) only act when the result is a known word: a Sastrawi root word or a word of the
packaged product lexicon (see :func:`is_known_word`).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Final

#: Step names, as reported in :attr:`Cleaned.steps` and in decision records.
HIDDEN: Final = "hidden"  # format characters (zero-width, soft hyphen, joiners) removed
LOOKALIKE: Final = "lookalike"  # letters of other scripts folded onto their Latin look-alikes
SPELLED: Final = "spelled"  # words spelled out letter by letter rejoined
SPLIT: Final = "split"  # fragments of one word rejoined (``ka os`` -> ``kaos``)
DIGITS: Final = "digits"  # digits or symbols standing for letters read back (``k4os``)
RUNS: Final = "runs"  # letters repeated three times or more collapsed (``kaaaos``)

#: Steps an honest title almost never needs: when one of them changed a title, the title was
#: disguised. Stretched letters (``murahhh``) are ordinary shouting, and honest titles often
#: split compounds (``flash disk``), so those two are not.
MATERIAL_STEPS: Final[frozenset[str]] = frozenset((HIDDEN, LOOKALIKE, SPELLED, DIGITS))

#: Digits and symbols read as letters; ``1`` may stand for ``i`` or ``l``.
_LEET: Final[dict[str, str]] = {
    "4": "a",
    "@": "a",
    "3": "e",
    "1": "il",
    "!": "i",
    "0": "o",
    "5": "s",
    "$": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "6": "g",
}
#: At most this many substituted characters per word: bounds the candidates (2 ** n).
_MAX_LEET_CHARS: Final = 8

# A word with a letter and a character that may stand for one; words without the latter are
# never changed, so they are not matched at all (most words of most titles).
_LEET_TOKEN = re.compile(r"(?<![\w@$!])(?=[\w@$!]*[0-9@$!])[\w@$!]*[a-z][\w@$!]*(?![\w@$])")
_HAS_LEET = re.compile(r"[a-z][0-9@$!]|[0-9@$!][a-z]")
# Three or more single letters separated by dots, spaces, hyphens, underscores or stars; the
# hint is a cheaper test that most titles fail.
_SPELLED_HINT = re.compile(r"\b[a-z][\s.\-_*·•]+[a-z][\s.\-_*·•]+[a-z]\b")
_SPELLED = re.compile(r"(?<![^\W\d_])[a-z](?:[\s.\-_*·•]+[a-z](?![^\W\d_])){2,}")
_WORD_MARKS = re.compile(r"[a-z][.\-_*·•][a-z]")
_WIDE_SPACE = re.compile(r"\s{2,}")
_RUN = re.compile(r"([a-wyz])\1\1+")
_LETTERS = re.compile(r"[^\W\d_]+")


class Cleaned:
    """A title with its disguises undone, and the names of the steps that changed it."""

    __slots__ = ("steps", "text")

    def __init__(self, text: str, steps: frozenset[str]) -> None:
        self.text = text
        self.steps = steps

    @property
    def obfuscated(self) -> bool:
        """Whether a step that honest titles do not need changed the title."""
        return not MATERIAL_STEPS.isdisjoint(self.steps)


# --- known words ------------------------------------------------------------------------------


@cache
def _lexicon_words() -> frozenset[str]:
    """Every word of the packaged product lexicon (curated product nouns)."""
    import tomllib

    text = (
        resources.files("akarclf.text").joinpath("data", "lexicon.toml").read_text(encoding="utf-8")
    )
    lexicon = tomllib.loads(text)["clusters"].values()
    return frozenset(w for entries in lexicon for entry in entries for w in entry.lower().split())


@cache
def _known_words() -> frozenset[str]:
    """Sastrawi's Indonesian root words plus every word of the packaged product lexicon."""
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    roots = {w for w in StemmerFactory().get_words() if w.isalpha() and len(w) >= 2}
    return frozenset(roots | _lexicon_words())


def is_known_word(word: str) -> bool:
    """Whether ``word`` (lower case, at least three letters) is a Sastrawi root word or a word
    of the product lexicon. A set lookup, no stemming: the steps that ask try many candidates,
    and a hostile title must not make them slow."""
    return len(word) >= 3 and word in _known_words()


def _segment(letters: str) -> list[str] | None:
    """``letters`` cut into known words of at least three letters (fewest pieces), or None."""
    n = len(letters)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(3, n + 1):
        for start in range(max(0, end - 20), end - 2):
            head = best[start]
            if head is not None and is_known_word(letters[start:end]):
                candidate = [*head, letters[start:end]]
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[n]


# --- the steps ----------------------------------------------------------------------------------


def drop_hidden(text: str) -> str:
    """``text`` without Unicode format characters (category Cf: zero-width spaces and joiners,
    soft hyphens, bidi marks, byte-order marks): invisible, they only serve to split words."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


@cache
def _lookalike_table() -> dict[int, str]:
    """Non-ASCII letters -> the ASCII letter they are confusable with (Unicode TR39 data as
    shipped by the ``confusable_homoglyphs`` package), lower case."""
    from confusable_homoglyphs.confusables import (  # type: ignore[import-untyped]
        confusables_data,
    )

    table: dict[int, str] = {}
    for char, glyphs in confusables_data.items():
        if len(char) != 1 or char.isascii() or not char.isalpha():
            continue
        for glyph in glyphs:
            latin = glyph["c"]
            if len(latin) == 1 and latin.isascii() and latin.isalpha():
                table[ord(char)] = latin.lower()
                break
    return table


def fold_lookalikes(text: str) -> str:
    """Fold each word written in look-alike letters onto Latin (``k\u0430\u043es``, with
    Cyrillic a and o, -> ``kaos``). A word is folded only when every one of its letters is
    Latin or has a Latin look-alike, so a genuine Russian or Greek word (``чай``) keeps its
    script, and only when it mixes scripts or has three letters or more."""
    if text.isascii():
        return text
    table = _lookalike_table()

    def fold(match: re.Match[str]) -> str:
        word = match.group()
        if word.isascii():
            return word
        folded = word.translate(table)
        # A lone letter in another script is a unit or an initial (``100 \u0433``), not a disguise.
        mixed = len(word) >= 3 or any(c.isascii() for c in word)
        return folded if mixed and folded.isascii() else word

    return _LETTERS.sub(fold, text)


def rejoin_spelled(text: str) -> str:
    """Rejoin words spelled out letter by letter (``k.a.o.s p.o.l.o.s`` -> ``kaos polos``)
    when the letters cut into known words; other runs of single letters (sizes ``s m l``)
    stay as they are."""

    def join(match: re.Match[str]) -> str:
        run = match.group()
        # Where words are marked (letters joined by dots or hyphens, words by spaces; or
        # letters by one space, words by more), each word is rejoined as written.
        chunks = run.split() if _WORD_MARKS.search(run) else _WIDE_SPACE.split(run)
        if len(chunks) > 1 or _WORD_MARKS.search(run):
            words = ["".join(c for c in chunk if c.isalpha()) for chunk in chunks]
            # Short unknown runs are initials or sizes (``s.m.l``), not words.
            if all(len(word) >= 4 or is_known_word(word) for word in words):
                return " " + " ".join(words) + " "
        found = _segment("".join(c for c in run if c.isalpha()))
        return run if found is None else " " + " ".join(found) + " "

    return _SPELLED.sub(join, text) if _SPELLED_HINT.search(text) else text


def _leet_candidates(word: str) -> Iterator[str]:
    options = [_LEET.get(c, c) for c in word]
    for letters in itertools.product(*options):
        yield "".join(letters)


def undo_digits(text: str) -> str:
    """Read digits and symbols inside a word as the letters they stand for (``k3r1p1k`` ->
    ``keripik``), only when that gives a known word; quantities (``250gr``) stay."""

    def undo(match: re.Match[str]) -> str:
        word = match.group()
        if word.isalpha():
            return word
        substituted = sum(c in _LEET for c in word)
        if not 0 < substituted <= min(_MAX_LEET_CHARS, len(word) - 2) or len(word) < 3:
            return word
        # Short codes (``4ci``, ``ha1``, ``8am``) are model numbers far more often than words:
        # a three-character one is read only as a product noun of the lexicon (``t4s``).
        accept = is_known_word if len(word) > 3 else _lexicon_words().__contains__
        if word[0].isdigit() and word[-1].isdigit():  # ``3in1``, ``2x4``: counts, not letters
            return word
        if any(c.isdigit() and c not in _LEET for c in word):
            return word
        for candidate in _leet_candidates(word):
            if candidate.isalpha() and accept(candidate):
                return candidate
        return word

    if not _HAS_LEET.search(text):
        return text
    return _LEET_TOKEN.sub(undo, text)


def collapse_runs(text: str) -> str:
    """Collapse a Latin letter repeated three times or more to one (``kaaaaos`` -> ``kaos``);
    ``x`` is left alone because sizes repeat it (``xxxl``)."""
    return _RUN.sub(r"\1", text)


def rejoin_split(tokens: list[str]) -> list[str]:
    """Rejoin adjacent fragments of one word (``ka os`` -> ``kaos``): two tokens of at least
    two letters are joined when together they form a known word and not both are one, so a
    size or initial (``t unggul``) and two real words stay apart."""
    known = _known_words()
    out: list[str] = []
    i = 0
    n = len(tokens)
    while i < n:
        token = tokens[i]
        if i + 1 < n:
            following = tokens[i + 1]
            if (
                token + following in known
                and len(token) >= 2
                and len(following) >= 2
                and not (token in known and following in known)
            ):
                out.append(token + following)
                i += 2
                continue
        out.append(token)
        i += 1
    return out


def deobfuscate(text: str) -> Cleaned:
    """Apply every character-level step to a case-folded title, recording those that changed
    it. Word-level rejoining of fragments (:func:`rejoin_split`) runs on the tokens later."""
    steps: set[str] = set()
    if not text.isascii():
        for name, step in ((HIDDEN, drop_hidden), (LOOKALIKE, fold_lookalikes)):
            changed = step(text)
            if changed != text:
                steps.add(name)
                text = changed
    for name, step in ((SPELLED, rejoin_spelled), (DIGITS, undo_digits), (RUNS, collapse_runs)):
        changed = step(text)
        if changed != text:
            steps.add(name)
            text = changed
    return Cleaned(text, frozenset(steps))
