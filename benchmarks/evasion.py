"""Does a decision hold when the seller adapts? The gate on disguised titles (issue 14).

Every title in ``benchmarks/evasion_titles.py`` (written for this benchmark, none from
``../shared/data``) is rewritten as an evading seller would, and decided as a cross-border
listing with :func:`akarclf.gate.decision.decide`. Per transform the script prints the share of
protected titles not allowed and blocked, and the share of ``other`` titles allowed, then
whether each target of the issue is met:

- every transform: >= 95 % of protected titles not allowed;
- transforms normalisation can undo (case, leetspeak, separators, hidden characters,
  look-alikes, 8 appended words): blocked >= 80 % of the blocked share without evasion;
- honest ``other`` titles, plain and with sales words appended: >= 90 % allowed.

Run: ``python benchmarks/evasion.py [--model PATH] [--policy PATH]`` (default: the shipped
model and the packaged policy).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evasion_titles import FILLER, OTHER, PROTECTED, SALES

ON = dt.date(2026, 12, 1)
NOT_ALLOWED_TARGET = 0.95
BLOCK_RETAINED_TARGET = 0.80
OTHER_ALLOWED_TARGET = 0.90
#: Transforms normalisation is meant to undo: they must keep 80 % of the blocks.
UNDOABLE = (
    "case",
    "leetspeak",
    "dots between letters",
    "spaces between letters",
    "zero-width spaces",
    "soft hyphens",
    "space inside words",
    "Cyrillic look-alikes",
    "8 electronics words appended",
)
HONEST = ("none", "sales words appended")

_LEET = str.maketrans(
    {"a": "4", "A": "4", "e": "3", "E": "3", "i": "1", "I": "1", "o": "0", "O": "0"}
)
_CYRILLIC = str.maketrans(
    "aeopcAEOPC", "\u0430\u0435\u043e\u0440\u0441\u0410\u0415\u041e\u0420\u0421"
)
FASHION_WORDS = "kaos batik sepatu tas"


def _letters(title: str, separator: str, between_words: str = " ") -> str:
    return between_words.join(separator.join(word) for word in title.split())


def _alternate(title: str) -> str:
    return "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(title))


def _split_words(title: str) -> str:
    return " ".join(
        w[: len(w) // 2] + " " + w[len(w) // 2 :] if len(w) >= 4 else w for w in title.split()
    )


def _typos(title: str, seed: int) -> str:
    rng = random.Random(seed)
    words = []
    for word in title.split():
        if len(word) >= 5 and rng.random() < 0.5:
            i = rng.randrange(1, len(word) - 2)
            word = (
                word[:i] + word[i + 1] + word[i] + word[i + 2 :]
                if rng.random() < 0.5
                else word[:i] + word[i + 1 :]
            )
        words.append(word)
    return " ".join(words)


def _filler(count: int, seed: int) -> str:
    return " ".join(FILLER[(seed + i) % len(FILLER)] for i in range(count))


def _junk(seed: int) -> str:
    rng = random.Random(seed)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < 1000:
        words.append("".join(rng.choice("bcdfghjklmnpqrstvwxyz") for _ in range(rng.randint(3, 8))))
    return " ".join(words)[:1000]


#: name -> (transform of a protected row, transform of an other row or None).
Row = tuple[int, tuple[str, ...]]
TRANSFORMS: dict[str, tuple[Callable[[Row], str], Callable[[Row], str] | None]] = {
    "none": (lambda r: r[1][0], lambda r: r[1][0]),
    "case": (lambda r: _alternate(r[1][0]), lambda r: _alternate(r[1][0])),
    "leetspeak": (lambda r: r[1][0].translate(_LEET), lambda r: r[1][0].translate(_LEET)),
    "dots between letters": (lambda r: _letters(r[1][0], "."), lambda r: _letters(r[1][0], ".")),
    "spaces between letters": (
        lambda r: _letters(r[1][0], " ", "  "),
        lambda r: _letters(r[1][0], " ", "  "),
    ),
    "zero-width spaces": (
        lambda r: _letters(r[1][0], "\u200b"),
        lambda r: _letters(r[1][0], "\u200b"),
    ),
    "soft hyphens": (lambda r: _letters(r[1][0], "\u00ad"), lambda r: _letters(r[1][0], "\u00ad")),
    "space inside words": (lambda r: _split_words(r[1][0]), lambda r: _split_words(r[1][0])),
    "Cyrillic look-alikes": (
        lambda r: r[1][0].translate(_CYRILLIC),
        lambda r: r[1][0].translate(_CYRILLIC),
    ),
    "typo noise": (lambda r: _typos(r[1][0], r[0]), lambda r: _typos(r[1][0], r[0])),
    "8 electronics words appended": (
        lambda r: r[1][0] + " " + _filler(8, r[0]),
        lambda r: r[1][0] + " " + _filler(8, r[0]),
    ),
    "24 electronics words appended": (
        lambda r: r[1][0] + " " + _filler(24, r[0]),
        lambda r: r[1][0] + " " + _filler(24, r[0]),
    ),
    "inside an other title": (lambda r: OTHER[r[0] % len(OTHER)][0] + " " + r[1][0], None),
    "fashion words stuffed": (
        lambda r: r[1][0] + " " + FASHION_WORDS,
        lambda r: r[1][0] + " " + FASHION_WORDS,
    ),
    "1,000 junk characters first": (
        lambda r: _junk(r[0]) + " " + r[1][0],
        lambda r: _junk(r[0]) + " " + r[1][0],
    ),
    "English": (lambda r: r[1][1], lambda r: r[1][1]),
    "Malay": (lambda r: r[1][2], None),
    "Chinese script and a number": (lambda r: r[1][3] + " 2024", None),
    "sales words appended": (lambda r: r[1][0] + " " + SALES, lambda r: r[1][0] + " " + SALES),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model file (default: the shipped model)")
    parser.add_argument("--policy", help="policy file (default: the packaged policy)")
    args = parser.parse_args()

    from akarclf.gate.decision import decide
    from akarclf.gate.policy import load_policy
    from akarclf.model.persistence import load_model

    model = load_model(args.model)
    policy = load_policy(args.policy)
    protected = [(i, row[:4]) for i, row in enumerate(PROTECTED)]
    other = [(i, row) for i, row in enumerate(OTHER)]
    print(
        f"model {model.model_version}, policy {policy.label}, {len(protected)} protected and "
        f"{len(other)} other titles, {len(TRANSFORMS)} transforms, all cross-border"
    )

    def decisions(titles: list[str]) -> list[str]:
        return [r.decision for r in decide(titles, True, model=model, policy=policy, on=ON)]

    header = (
        f"{'transform':30s} {'prot. not allowed':>17s} {'prot. blocked':>13s} "
        f"{'other allowed':>13s}  targets"
    )
    print(header)
    print("-" * len(header))
    baseline_blocked = None
    failures: list[str] = []
    for name, (on_protected, on_other) in TRANSFORMS.items():
        verdicts = decisions([on_protected(r) for r in protected])
        not_allowed = sum(v != "allow" for v in verdicts) / len(verdicts)
        blocked = sum(v == "block" for v in verdicts) / len(verdicts)
        if baseline_blocked is None:
            baseline_blocked = blocked
        checks = [("not allowed >= 95 %", not_allowed >= NOT_ALLOWED_TARGET)]
        if name in UNDOABLE:
            checks.append(
                ("blocks kept >= 80 %", blocked >= BLOCK_RETAINED_TARGET * baseline_blocked)
            )
        other_text = "-"
        if on_other is not None:
            other_allowed = sum(
                v == "allow" for v in decisions([on_other(r) for r in other])
            ) / len(other)
            other_text = f"{other_allowed:.0%}"
            if name in HONEST:
                checks.append(("other allowed >= 90 %", other_allowed >= OTHER_ALLOWED_TARGET))
        verdict = "; ".join(f"{label}: {'met' if ok else 'NOT met'}" for label, ok in checks)
        failures += [f"{name}: {label}" for label, ok in checks if not ok]
        print(f"{name:30s} {not_allowed:17.0%} {blocked:13.0%} {other_text:>13s}  {verdict}")
    print()
    print("all targets met" if not failures else "targets not met: " + "; ".join(failures))


if __name__ == "__main__":
    main()
