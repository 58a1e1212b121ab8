"""Turn raw marketplace titles into the token stream the classifier's features are built from.

Sellers write titles for search engines, not for readers: brackets full of shouting
(``[READY STOCK]``), delivery terms (``COD``), emoji, glued quantities (``250gr``, ``2pcs``).
This module folds all of that into one canonical lower-case token string, and stems Indonesian
words with PySastrawi one distinct token at a time (whole-title stemming is far too slow).

The two public pieces are :class:`TitleNormalizer`, a stateless scikit-learn transformer, and
:class:`WordAnalyzer`, the analyzer the word TF-IDF features use to choose surface forms, stems
or both.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from akarclf.text.deobfuscate import SPLIT, Cleaned, deobfuscate, rejoin_split

#: Titles longer than this many characters are cut (deterministically: the first characters
#: are kept). Real titles are under 300 characters; the cap only bounds the cost of a hostile
#: input, and lies far above the policy's ``max_title_chars``, past which the gate reviews a
#: cross-border listing anyway, so no title that could be allowed loses its product to the cut.
MAX_TITLE_CHARS = 20_000

#: The cut of :func:`key_text`, frozen: hand labels are keyed by that text.
KEY_TITLE_CHARS = 1000

#: How many distinct tokens the stem cache remembers. Catalogue vocabularies are a few hundred
#: thousand words; the cap keeps a long-running service's memory bounded.
STEM_CACHE_SIZE = 200_000

WordFeatures = Literal["surface", "stem", "both"]

_TOKEN = re.compile(r"[^\W\d_]+|\d+")
_DIGITS = re.compile(r"\d+")


def _read_word_list(name: str) -> list[str]:
    """Entries of a packaged word list: one per line, ``#`` starts a comment line."""
    text = resources.files("akarclf.text").joinpath("data", name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


#: ASCII bytes folded: letters to lower case, digits to ``0``, everything else to a space.
_ASCII_FOLD = bytes(
    c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 else 48 if 48 <= c <= 57 else 32
    for c in range(256)
)
_ZERO_RUN = re.compile(r"0+")


def _folded_tokens(text: str) -> list[str]:
    """Tokens of ``text`` after NFKC and case folding, digit runs as ``0``: runs of letters and
    runs of digits, so ``250gr`` is two tokens."""
    return _TOKEN.findall(_DIGITS.sub("0", unicodedata.normalize("NFKC", text).casefold()))


class _Noise:
    """Marketplace noise words (``cod``, ``ready stock``) as tokens, matched token-wise.

    One-token entries are a set; phrases are matched on the space-joined tokens, and only in
    titles that contain a phrase's first token, which keeps the common title regex-free.
    """

    def __init__(self, entries: Iterable[str]) -> None:
        folded = [tuple(_folded_tokens(entry)) for entry in entries]
        self.words = frozenset(e[0] for e in folded if len(e) == 1)
        phrases = sorted({" ".join(e) for e in folded if len(e) > 1}, key=len, reverse=True)
        self.phrase_starts = frozenset(e[0] for e in folded if len(e) > 1)
        # Whole tokens only; longest phrases first so "free ongkir" goes before "ongkir".
        self.phrases = re.compile(
            r"(?<![^ ])(?:" + "|".join(map(re.escape, phrases)) + r")(?![^ ])"
        )

    def strip(self, tokens: list[str]) -> list[str]:
        if not self.phrase_starts.isdisjoint(tokens):
            tokens = self.phrases.sub(" ", " ".join(tokens)).split()
        return [token for token in tokens if token not in self.words]


_NOISE = _Noise(_read_word_list("noise_words.txt"))
NO_STEM_WORDS: frozenset[str] = frozenset(_read_word_list("no_stem.txt"))


def check_title(title: object, position: int | None = None) -> str:
    """Return ``title`` if it is a ``str``; otherwise raise ``TypeError`` naming its position.

    ``None``, NaN, numbers and bytes are not titles: silently turning them into text would
    score ``"nan"`` or ``"b'...'"`` as a product.
    """
    if isinstance(title, str):
        return title
    where = "title" if position is None else f"title at position {position}"
    kind = "NaN" if isinstance(title, float) and math.isnan(title) else type(title).__name__
    raise TypeError(f"{where} must be a str, got {kind}: {title!r:.60}")


def normalize_title(title: str) -> str:
    """Canonical form of one title: lower-case tokens separated by single spaces.

    NFKC folding (full-width letters, ligatures), case folding, disguises undone (see
    :mod:`akarclf.text.deobfuscate`: hidden characters, look-alike letters, spelled-out and
    split words, digits for letters, stretched letters), every digit run replaced by ``0`` and
    split from its unit (``250gr`` -> ``0 gr``: the amount carries no cluster signal, the unit
    does), marketplace noise words removed, emoji and punctuation dropped. Never raises for a
    ``str``; an empty result means the title had no usable words.
    """
    return clean_title(title).text


def clean_title(title: str) -> Cleaned:
    """:func:`normalize_title` with the names of the de-obfuscation steps that changed it."""
    title = title[:MAX_TITLE_CHARS]
    ascii_title = title.isascii()
    cleaned = deobfuscate(title.lower() if ascii_title else _fold(title))
    text = cleaned.text
    if text.isascii():
        # Same result as the general path (tests/test_text.py checks it), several times faster:
        # on ASCII, NFKC changes nothing and case folding is lower().
        tokens = _ZERO_RUN.sub(" 0 ", text.encode().translate(_ASCII_FOLD).decode()).split()
    else:
        tokens = _folded_tokens(text)
    joined = rejoin_split(tokens)
    steps = cleaned.steps if len(joined) == len(tokens) else cleaned.steps | {SPLIT}
    return Cleaned(" ".join(_NOISE.strip(joined)), steps)


def _fold(title: str) -> str:
    return unicodedata.normalize("NFKC", title).casefold()


def key_text(title: str) -> str:
    """The normalisation that :func:`akarclf.training.datasets.title_key` hashes and the
    training split groups by, frozen as it was when the hand labels were keyed and read: no
    de-obfuscation, cut at :data:`KEY_TITLE_CHARS`. Changing it would silently detach existing
    hand labels from their titles and move titles across the split."""
    title = title[:KEY_TITLE_CHARS]
    if not title.isascii():
        return " ".join(_NOISE.strip(_folded_tokens(title)))
    tokens = _ZERO_RUN.sub(" 0 ", title.encode().translate(_ASCII_FOLD).decode()).split()
    return " ".join(_NOISE.strip(tokens))


def _normalize_unicode(title: str) -> str:
    """:func:`normalize_title` without its ASCII shortcut (the reference the tests compare)."""
    cleaned = deobfuscate(_fold(title[:MAX_TITLE_CHARS]))
    return " ".join(_NOISE.strip(rejoin_split(_folded_tokens(cleaned.text))))


def blank_mask(titles: Sequence[str]) -> np.ndarray:
    """Boolean mask of titles that carry no words once normalised (empty, spaces, emoji only).

    The classifier still returns probabilities for them, but those are the model's prior, not
    evidence: the gate uses this mask to send such listings to review.
    """
    return np.fromiter((not normalize_title(t) for t in titles), dtype=bool, count=len(titles))


class _Stemmer:
    """Thread-safe, lazily built PySastrawi stemmer with a bounded per-token cache."""

    _lock = threading.Lock()
    _stem_fn: Any = None

    @classmethod
    def _raw(cls) -> Any:
        if cls._stem_fn is None:
            with cls._lock:
                if cls._stem_fn is None:
                    # The factory's own stemmer has an unbounded cache; build the plain one.
                    from Sastrawi.Dictionary.ArrayDictionary import ArrayDictionary
                    from Sastrawi.Stemmer.Stemmer import Stemmer
                    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

                    words = StemmerFactory().get_words()
                    cls._stem_fn = Stemmer(ArrayDictionary(words)).stem
        return cls._stem_fn


@lru_cache(maxsize=STEM_CACHE_SIZE)
def stem_token(token: str) -> str:
    """Sastrawi stem of one normalised token; protected domain words and numbers pass through."""
    if token in NO_STEM_WORDS or len(token) < 4 or not token.isalpha():
        return token
    return str(_Stemmer._raw()(token)) or token


class TitleNormalizer(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: raw titles in, :func:`normalize_title` strings out.

    Stateless (``fit`` learns nothing), so it is safe to share between threads and to put in
    front of any text vectorizer. Non-string items raise ``TypeError`` naming their position.
    """

    def fit(self, X: Iterable[object], y: object = None) -> TitleNormalizer:
        return self

    def transform(self, X: Iterable[object]) -> list[str]:
        return [normalize_title(check_title(t, i)) for i, t in enumerate(X)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = False
        return tags


class WordAnalyzer:
    """Word n-gram analyzer over normalised titles, on surface forms, on stems, or on both.

    ``surface``: word n-grams of the words as written; ``stem``: the same n-grams over Sastrawi
    stems; ``both``: surface n-grams plus stem unigrams marked ``~`` where the stem differs from
    the word (so ``kerajinan`` keeps its own feature and also shares ``~rajin`` with ``rajinan``).
    With a ``lexicon`` (word or two-word phrase -> cluster, see :func:`load_lexicon`), every
    lexicon entry in the title adds a ``lex=<cluster>`` feature shared by all product nouns of
    that cluster, which carries rare nouns that training saw too seldom to weigh on their own.
    With ``head``, the first word also gives a ``^word`` feature (see :meth:`head_grams`).

    After training, :meth:`remember_stems` keeps the stems of the training words in the
    analyzer (and so in the saved model): Sastrawi needs tens of microseconds per new word,
    the dominant cost of scoring a catalogue from a fresh process, and a model that carries
    its stems also keeps them if a later Sastrawi release stems differently.
    """

    def __init__(
        self,
        features: WordFeatures = "both",
        ngram_max: int = 2,
        lexicon: dict[str, str] | None = None,
        head: bool = False,
    ) -> None:
        if features not in ("surface", "stem", "both"):
            raise ValueError(f"features must be 'surface', 'stem' or 'both', got {features!r}")
        if ngram_max < 1:
            raise ValueError(f"ngram_max must be >= 1, got {ngram_max}")
        self.features = features
        self.ngram_max = ngram_max
        self.lexicon = lexicon
        self.head = head
        #: ``word<TAB>stem`` lines of the training words (see :meth:`remember_stems`), or "".
        self.stem_table = ""
        self._stems: dict[str, str] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_stems")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Validates what a model file holds, and lets files written before an option existed
        # load with that option's default.
        self.__init__(  # type: ignore[misc]
            state.get("features", "both"),
            state.get("ngram_max", 2),
            state.get("lexicon"),
            state.get("head", False),
        )
        table = state.get("stem_table", "")
        if not isinstance(table, str):
            raise TypeError(f"stem_table must be a str, got {type(table).__name__}")
        self._load_stem_table(table)

    def remember_stems(self, words: Iterable[str]) -> None:
        """Keep the stems of ``words`` (normalised tokens, typically the training vocabulary)
        so that scoring them never calls Sastrawi again."""
        if self.features == "surface":
            return
        # Tab-separated: Sastrawi turns letters outside a-z into spaces, so a stem may hold one.
        lines = (f"{word}\t{stem_token(word)}" for word in dict.fromkeys(words))
        self._load_stem_table("\n".join(sorted(lines)))

    def _load_stem_table(self, table: str) -> None:
        stems: dict[str, str] = {}
        for line in table.split("\n") if table else ():
            word, separator, stem = line.partition("\t")
            if not separator or not word or not stem or " " in word or "\t" in stem:
                raise ValueError(f"malformed stem table line {line!r:.80}")
            stems[word] = stem
        self.stem_table = table
        self._stems = stems

    def stem(self, word: str) -> str:
        """Stem of a normalised token: from the remembered table, else from Sastrawi."""
        return self._stems.get(word) or stem_token(word)

    def _base(self, word: str) -> str:
        return self.stem(word) if self.features == "stem" else word

    def word_grams(self, word: str) -> list[str]:
        """Features of one word on its own: the word (or its stem), its stem, its lexicon mark."""
        base = self._base(word)
        grams = [base]
        if self.features == "both":
            stem = self.stem(word)
            if stem != word:
                grams.append("~" + stem)
        if self.lexicon and base in self.lexicon:
            grams.append("lex=" + self.lexicon[base])
        return grams

    def pair_grams(self, first: str, second: str) -> list[str]:
        """Features of two adjacent words: their bigram and the lexicon mark of the phrase."""
        pair = self._base(first) + " " + self._base(second)
        grams = [pair] if self.ngram_max >= 2 else []
        if self.lexicon and pair in self.lexicon:
            grams.append("lex=" + self.lexicon[pair])
        return grams

    def head_grams(self, word: str) -> list[str]:
        """Feature of the title's first word, marked ``^``: Indonesian titles usually open with
        the product noun (``rak sepatu`` is a rack, ``sepatu rak`` would be a shoe)."""
        return ["^" + self._base(word)]

    def __call__(self, normalized: str) -> list[str]:
        words = normalized.split()
        grams = [g for w in words for g in self.word_grams(w)]
        if self.head and words:
            grams.extend(self.head_grams(words[0]))
        grams.extend(g for a, b in itertools.pairwise(words) for g in self.pair_grams(a, b))
        if self.ngram_max > 2:
            bases = [self._base(w) for w in words]
            for n in range(3, self.ngram_max + 1):
                grams.extend(" ".join(bases[i : i + n]) for i in range(len(bases) - n + 1))
        return grams

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, WordAnalyzer)
            and other.features == self.features
            and other.ngram_max == self.ngram_max
            and other.lexicon == self.lexicon
            and other.head == self.head
        )

    def __hash__(self) -> int:
        return hash((self.features, self.ngram_max, len(self.lexicon or ())))

    def __repr__(self) -> str:
        lexicon = "None" if self.lexicon is None else f"<{len(self.lexicon)} entries>"
        return (
            f"WordAnalyzer(features={self.features!r}, ngram_max={self.ngram_max}, "
            f"lexicon={lexicon})"
        )


def load_lexicon() -> tuple[str, dict[str, str]]:
    """The packaged product-noun lexicon: its version and a mapping entry -> cluster.

    Entries are normalised like titles, so a lexicon line matches what the analyzer sees. An
    entry listed under two clusters is an error: it would add contradictory evidence.
    """
    import tomllib

    text = (
        resources.files("akarclf.text").joinpath("data", "lexicon.toml").read_text(encoding="utf-8")
    )
    data = tomllib.loads(text)
    mapping: dict[str, str] = {}
    for cluster, entries in data["clusters"].items():
        for entry in entries:
            key = normalize_title(entry)
            if mapping.get(key, cluster) != cluster:
                raise ValueError(f"lexicon entry {entry!r} is under {mapping[key]} and {cluster}")
            mapping[key] = cluster
    return str(data["version"]), mapping
