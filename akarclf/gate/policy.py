"""The restriction policy as data: which clusters are closed to cross-border sellers, from
which date, and how sure the classifier must be before a listing is blocked or reviewed.

AKAR closed clusters progressively, so a listing is judged by the policy in force on the
decision date: :meth:`Policy.protected_on` gives the clusters closed on a date. A policy is a
TOML file (the package ships one, see :func:`load_policy`)::

    [policy]
    id = "akar-default"
    version = "2026.11.1"

    [thresholds]
    block = 0.9     # protected mass at or above which a cross-border listing is blocked
    review = 0.5    # ... at or above which (and below block) it goes to a human

    [fallbacks]
    unknown_seller = "review"   # seller flag missing
    empty_title = "review"      # title without usable words

    [[protected]]
    cluster = "textile_fashion"
    closed_from = 2021-08-01

    [evidence]                  # optional; without it none of these rules applies
    min_known_share = 0.3       # fewer of the title's words known to the model -> review
    max_title_chars = 500       # longer titles -> review
    obfuscated = "review"       # at least this for a disguised title
    segments = "review"         # at least this when a window of the title reaches block
    head_review = 0.5           # at least review when the title's first window reaches this

    [provenance]                # free-form: where the thresholds came from
    method = "akarclf tune-policy"

Every mistake in such a file is a :class:`PolicyError` that names the file and the field.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import numbers
import re
import stat
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from akarclf.clusters import CLUSTERS, PROTECTABLE_CLUSTERS
from akarclf.errors import AkarclfError

#: What a policy can do with a listing, strictest first.
ACTIONS: Final[tuple[str, ...]] = ("block", "review", "allow")

DEFAULT_POLICY_RESOURCE: Final = "default_policy.toml"

#: The largest policy file read, in bytes: a policy is a few tables, so anything bigger is the
#: wrong file, and it is refused before it is read into memory.
MAX_POLICY_BYTES: Final = 1 << 20

_TOP_KEYS: Final = ("policy", "thresholds", "fallbacks", "protected", "evidence", "provenance")
_POLICY_KEYS: Final = ("id", "version")
_THRESHOLD_KEYS: Final = ("block", "review")
_FALLBACK_KEYS: Final = ("unknown_seller", "empty_title")
_PROTECTED_KEYS: Final = ("cluster", "closed_from")
_DEFAULT_FALLBACK: Final = "review"
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


class PolicyError(AkarclfError, ValueError):
    """A policy file or mapping that cannot be used; the message names the source and field."""


@dataclass(frozen=True)
class EvidencePolicy:
    """The ``[evidence]`` rules for cross-border listings whose title is hard to read.

    ``min_known_share``: a title fewer of whose words the model knows goes at least to review
    (``UNREADABLE_TITLE``): probabilities of an unreadable title are the prior, not evidence.
    ``max_title_chars``: a longer raw title goes at least to review (``LONG_TITLE``).
    ``obfuscated``: the least a title whose disguise the normaliser undid gets
    (``OBFUSCATED_TITLE``; ``allow`` turns the rule off). ``segments``: the least a listing
    gets when a window of its title reaches the block threshold on its own (``PROTECTED_SEGMENT``;
    ``allow``: windows are not scored); ``head_review``: a first window (where the product is
    named) with at least this protected mass sends the listing at least to review
    (``PROTECTED_SEGMENT``). Windows have levels of their own because a few words out of
    context reach the whole-title thresholds far too easily.
    The defaults turn every rule off, as for a policy written before the table existed.
    """

    min_known_share: float = 0.0
    max_title_chars: int = 20_000
    obfuscated: str = "allow"
    segments: str = "allow"
    head_review: float = 1.0

    def __post_init__(self) -> None:
        for name in ("min_known_share", "head_review"):
            share = getattr(self, name)
            if isinstance(share, bool) or not isinstance(share, numbers.Real):
                raise PolicyError(f"evidence.{name} must be a number, got {share!r}")
            if not 0.0 <= float(share) <= 1.0:
                raise PolicyError(f"evidence.{name} = {share!r} is not within [0, 1]")
            object.__setattr__(self, name, float(share))
        limit = self.max_title_chars
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 20_000:
            raise PolicyError(
                f"evidence.max_title_chars must be an integer in [1, 20000] (the normaliser's "
                f"cap), got {limit!r}"
            )
        for name in ("obfuscated", "segments"):
            action = getattr(self, name)
            if action not in ACTIONS:
                raise PolicyError(
                    f"evidence.{name} = {action!r} is not an action; valid: {', '.join(ACTIONS)}"
                )

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str) -> EvidencePolicy:
        """Read an ``[evidence]`` table; unknown keys are errors naming ``where``."""
        names = ("min_known_share", "max_title_chars", "obfuscated", "segments", "head_review")
        _check_keys(table, names, where, "[evidence]")
        try:
            return cls(**{name: table[name] for name in names if name in table})
        except PolicyError as error:
            raise PolicyError(f"{where}: {error}") from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_known_share": self.min_known_share,
            "max_title_chars": self.max_title_chars,
            "obfuscated": self.obfuscated,
            "segments": self.segments,
            "head_review": self.head_review,
        }


@dataclass(frozen=True)
class Policy:
    """One version of the restriction policy.

    ``closures`` maps each protected cluster to the first date on which it is closed to
    cross-border sellers. ``block_threshold`` and ``review_threshold`` apply to the protected
    mass (the summed probability of the clusters protected on the decision date).
    ``unknown_seller`` and ``empty_title`` are the actions (``block``/``review``/``allow``) for
    a missing seller flag and for a title with no usable words. ``provenance`` records where
    the thresholds came from; ``source`` is the file the policy was read from (not compared).
    Build it with :meth:`from_toml` or :meth:`from_dict`, which validate every field.
    """

    policy_id: str
    version: str
    closures: Mapping[str, dt.date]
    block_threshold: float
    review_threshold: float
    unknown_seller: str = _DEFAULT_FALLBACK
    empty_title: str = _DEFAULT_FALLBACK
    provenance: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    evidence: EvidencePolicy = field(default_factory=EvidencePolicy)
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Validate objects built directly too, and freeze the mappings.
        _validate(self)
        closures = {c: self.closures[c] for c in CLUSTERS if c in self.closures}
        object.__setattr__(self, "closures", MappingProxyType(closures))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))
        object.__setattr__(self, "block_threshold", float(self.block_threshold))
        object.__setattr__(self, "review_threshold", float(self.review_threshold))

    def __hash__(self) -> int:
        # The generated hash would fail on the mappings; provenance is left out (equal
        # policies still hash equal), so a policy can key a cache.
        return hash(
            (
                self.policy_id,
                self.version,
                tuple(self.closures.items()),
                self.block_threshold,
                self.review_threshold,
                self.unknown_seller,
                self.empty_title,
                self.evidence,
            )
        )

    @property
    def label(self) -> str:
        """``id@version``, written as ``policy_version`` next to every decision."""
        return f"{self.policy_id}@{self.version}"

    def protected_on(self, on: dt.date) -> tuple[str, ...]:
        """Clusters closed to cross-border sellers on date ``on``, in :data:`CLUSTERS` order."""
        on = as_date(on)
        return tuple(c for c, since in self.closures.items() if since <= on)

    @classmethod
    def from_toml(cls, path: str | Path) -> Policy:
        """Read and validate a policy file; every failure is a :class:`PolicyError` naming it."""
        path = Path(path)
        return cls.from_dict(_parse_toml(_read_policy_text(path), path), source=str(path))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str | None = None) -> Policy:
        """Build a policy from the mapping a TOML file parses to (see the module docstring)."""
        where = f"policy {source}" if source else "policy"
        if not isinstance(d, Mapping):
            raise PolicyError(f"{where}: expected a table, got {type(d).__name__}")
        _check_keys(d, _TOP_KEYS, where, "top level")
        head = _table(d, "policy", where, required=True)
        _check_keys(head, _POLICY_KEYS, where, "[policy]")
        thresholds = _table(d, "thresholds", where, required=True)
        _check_keys(thresholds, _THRESHOLD_KEYS, where, "[thresholds]")
        fallbacks = _table(d, "fallbacks", where, required=False)
        _check_keys(fallbacks, _FALLBACK_KEYS, where, "[fallbacks]")
        provenance = _table(d, "provenance", where, required=False)
        for name in _POLICY_KEYS:
            if name not in head:
                raise PolicyError(f"{where}: [policy] needs {name!r}")
        for name in _THRESHOLD_KEYS:
            if name not in thresholds:
                raise PolicyError(f"{where}: [thresholds] needs {name!r}")
        closures = _read_closures(d.get("protected"), where)
        evidence = EvidencePolicy.from_table(_table(d, "evidence", where, required=False), where)
        try:
            return cls(
                policy_id=head["id"],
                version=head["version"],
                closures=closures,
                block_threshold=thresholds["block"],
                review_threshold=thresholds["review"],
                unknown_seller=fallbacks.get("unknown_seller", _DEFAULT_FALLBACK),
                empty_title=fallbacks.get("empty_title", _DEFAULT_FALLBACK),
                provenance=provenance,
                evidence=evidence,
                source=source,
            )
        except PolicyError as error:
            if source is None:
                raise
            raise PolicyError(f"{where}: {error}") from None

    def to_dict(self) -> dict[str, Any]:
        """The mapping :meth:`from_dict` reads (dates stay :class:`datetime.date`)."""
        data: dict[str, Any] = {
            "policy": {"id": self.policy_id, "version": self.version},
            "thresholds": {"block": self.block_threshold, "review": self.review_threshold},
            "fallbacks": {"unknown_seller": self.unknown_seller, "empty_title": self.empty_title},
            "protected": [{"cluster": c, "closed_from": d} for c, d in self.closures.items()],
        }
        if self.evidence != EvidencePolicy():
            data["evidence"] = self.evidence.to_dict()
        if self.provenance:
            data["provenance"] = dict(self.provenance)
        return data

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # The read-only mappings do not pickle; rebuilding from the plain data also re-validates
        # the policy in the receiving process (worker processes, Dask and Spark tasks).
        return (Policy.from_dict, (self.to_dict(), self.source))

    def to_toml(self, header: str | None = None) -> str:
        """The policy as TOML text that :meth:`from_toml` reads back to an equal policy.

        ``header`` is written first as ``#`` comment lines.
        """
        lines: list[str] = []
        if header:
            lines += [f"# {line}".rstrip() for line in header.splitlines()]
            lines.append("")
        data = self.to_dict()
        for name in ("policy", "thresholds", "fallbacks"):
            lines += _toml_table(name, data[name])
        for entry in data["protected"]:
            lines += ["[[protected]]", *(_toml_pair(k, v) for k, v in entry.items()), ""]
        if "evidence" in data:
            lines += _toml_table("evidence", data["evidence"])
        if "provenance" in data:
            lines += _toml_table("provenance", data["provenance"])
        return "\n".join(lines).rstrip() + "\n"

    def replace(self, **changes: Any) -> Policy:
        """A copy with some fields changed (validated again)."""
        fields: dict[str, Any] = {
            "policy_id": self.policy_id,
            "version": self.version,
            "closures": dict(self.closures),
            "block_threshold": self.block_threshold,
            "review_threshold": self.review_threshold,
            "unknown_seller": self.unknown_seller,
            "empty_title": self.empty_title,
            "provenance": dict(self.provenance),
            "evidence": self.evidence,
            "source": None,
        }
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"Policy has no field(s) {', '.join(sorted(unknown))}")
        fields.update(changes)
        return Policy(**fields)


def as_date(on: object) -> dt.date:
    """A decision date from a :class:`datetime.date`, a datetime (its UTC date if aware) or an
    ISO ``YYYY-MM-DD`` string."""
    if isinstance(on, dt.datetime):
        if on.tzinfo is not None:
            on = on.astimezone(dt.UTC)
        return on.date()
    if isinstance(on, dt.date):
        return on
    if isinstance(on, str):
        try:
            return _iso_date(on)
        except ValueError:
            raise ValueError(f"decision date {on!r} is not an ISO date (YYYY-MM-DD)") from None
    raise TypeError(f"decision date must be a date or an ISO string, got {type(on).__name__}")


def today_utc() -> dt.date:
    """Today's date in UTC: the default decision date."""
    return dt.datetime.now(dt.UTC).date()


@lru_cache(maxsize=1)
def _default_policy() -> Policy:
    resource = resources.files("akarclf.gate").joinpath(DEFAULT_POLICY_RESOURCE)
    data = _parse_toml(resource.read_text(encoding="utf-8"), DEFAULT_POLICY_RESOURCE)
    return Policy.from_dict(data, source=f"akarclf/gate/{DEFAULT_POLICY_RESOURCE}")


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy in file ``path``, or the packaged default when ``path`` is None (cached)."""
    if path is None:
        return _default_policy()
    return Policy.from_toml(path)


def closure_warning(policy: Policy, on: dt.date) -> str | None:
    """Why ``policy`` protects nothing on date ``on``, or None when some cluster is closed.

    With no cluster closed, every cross-border listing is allowed whatever the model says; on
    a real run that is most often a typo in a ``closed_from`` date (2099 for 2019), so a batch
    run says so instead of silently allowing everything.
    """
    if policy.protected_on(on):
        return None
    first = min(policy.closures.values())
    return (
        f"policy {policy.label} closes no cluster on {as_date(on).isoformat()} (the first "
        f"closed_from is {first.isoformat()}): every cross-border listing will be allowed"
    )


def _read_policy_text(path: Path) -> str:
    """The text of policy file ``path``; only a regular UTF-8 file of at most
    :data:`MAX_POLICY_BYTES` is read (a FIFO would block for ever, a device never end). Any
    other failure than a missing file is a :class:`PolicyError` naming it."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise PolicyError(f"policy file {path} is {what}")
        if info.st_size > MAX_POLICY_BYTES:
            raise PolicyError(
                f"policy file {path} is {info.st_size:,} bytes; a policy is at most "
                f"{MAX_POLICY_BYTES:,}: is it the right file?"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise  # a missing file stays FileNotFoundError, as for every other file
    except OSError as error:
        reason = error.strerror or error
        raise PolicyError(f"policy file {path}: cannot be read: {reason}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PolicyError(
            f"policy file {path}: not UTF-8 text (byte {error.start}: {error.reason}); "
            "save it as UTF-8"
        ) from None


def _parse_toml(text: str, source: object) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"policy file {source}: not valid TOML: {error}") from error
    except RecursionError:
        raise PolicyError(f"policy file {source}: nested too deeply to be a policy") from None


# --- validation -------------------------------------------------------------------------------


def _check_keys(table: Mapping[str, Any], allowed: Sequence[str], where: str, what: str) -> None:
    unknown = [key for key in table if key not in allowed]
    if unknown:
        raise PolicyError(
            f"{where}: unknown key(s) in {what}: {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(allowed)}"
        )


def _table(d: Mapping[str, Any], name: str, where: str, required: bool) -> Mapping[str, Any]:
    if name not in d:
        if required:
            raise PolicyError(f"{where}: missing the [{name}] table")
        return {}
    value = d[name]
    if not isinstance(value, Mapping):
        raise PolicyError(f"{where}: [{name}] must be a table, got {type(value).__name__}")
    return value


def _read_closures(entries: object, where: str) -> dict[str, dt.date]:
    if entries is None:
        raise PolicyError(
            f"{where}: no [[protected]] entries; list at least one of "
            f"{', '.join(PROTECTABLE_CLUSTERS)} with its closed_from date"
        )
    if isinstance(entries, Mapping) or not isinstance(entries, Sequence):
        raise PolicyError(f"{where}: 'protected' must be an array of tables ([[protected]])")
    closures: dict[str, dt.date] = {}
    for number, entry in enumerate(entries, start=1):
        what = f"[[protected]] entry {number}"
        if not isinstance(entry, Mapping):
            raise PolicyError(f"{where}: {what} must be a table, got {type(entry).__name__}")
        _check_keys(entry, _PROTECTED_KEYS, where, what)
        for key in _PROTECTED_KEYS:
            if key not in entry:
                raise PolicyError(f"{where}: {what} needs {key!r}")
        cluster = entry["cluster"]
        if not isinstance(cluster, str):
            raise PolicyError(
                f"{where}: {what}: cluster must be a string, got {type(cluster).__name__}"
            )
        if cluster in closures:
            raise PolicyError(f"{where}: duplicate cluster {cluster!r} in {what}")
        closures[cluster] = _read_date(entry["closed_from"], f"{where}: {what} ({cluster!r})")
    return closures


def _read_date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise PolicyError(f"{where}: closed_from must be a date (YYYY-MM-DD), not a date-time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return _iso_date(value)
        except ValueError:
            pass
    raise PolicyError(f"{where}: closed_from {value!r} is not a date (YYYY-MM-DD)")


def _iso_date(text: str) -> dt.date:
    """``YYYY-MM-DD`` only (Python 3.11 also takes ``YYYYMMDD``; 3.10 does not)."""
    text = text.strip()
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not YYYY-MM-DD")
    return dt.date.fromisoformat(text)


def _validate(policy: Policy) -> None:
    for name, value in (("policy id", policy.policy_id), ("policy version", policy.version)):
        if not isinstance(value, str) or not value.strip():
            raise PolicyError(f"{name} must be a non-empty string, got {value!r}")
        if "@" in value:
            raise PolicyError(f"{name} {value!r} must not contain '@' (used in the label)")
    if not isinstance(policy.closures, Mapping):
        raise PolicyError("closures must map cluster -> date")
    if not policy.closures:
        raise PolicyError(
            f"no protected cluster; list at least one of {', '.join(PROTECTABLE_CLUSTERS)}"
        )
    for cluster, since in policy.closures.items():
        if cluster not in PROTECTABLE_CLUSTERS:
            extra = " ('other' is never protected)" if cluster in CLUSTERS else ""
            raise PolicyError(
                f"unknown protected cluster {cluster!r}{extra}; "
                f"valid clusters: {', '.join(PROTECTABLE_CLUSTERS)}"
            )
        if isinstance(since, dt.datetime) or not isinstance(since, dt.date):
            raise PolicyError(f"closing date of {cluster!r} must be a date, got {since!r}")
    thresholds: dict[str, object] = {
        "block": policy.block_threshold,
        "review": policy.review_threshold,
    }
    for key, number in thresholds.items():
        if isinstance(number, bool) or not isinstance(number, numbers.Real):
            raise PolicyError(f"thresholds.{key} must be a number, got {number!r}")
        try:
            inside = 0.0 <= float(number) <= 1.0  # False for NaN
        except OverflowError:  # an integer too large for a float
            inside = False
        if not inside:
            raise PolicyError(f"thresholds.{key} = {number!r} is not within [0, 1]")
    if policy.review_threshold > policy.block_threshold:
        raise PolicyError(
            f"thresholds.review ({policy.review_threshold!r}) must be <= "
            f"thresholds.block ({policy.block_threshold!r})"
        )
    for name, action in (
        ("unknown_seller", policy.unknown_seller),
        ("empty_title", policy.empty_title),
    ):
        if action not in ACTIONS:
            raise PolicyError(
                f"fallbacks.{name} = {action!r} is not an action; valid: {', '.join(ACTIONS)}"
            )
    if not isinstance(policy.provenance, Mapping):
        raise PolicyError("provenance must be a table")


# --- TOML writing (the stdlib reads TOML but does not write it) -------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(_toml_pair(k, v) for k, v in value.items()) + "}"
    raise PolicyError(f"cannot write {type(value).__name__} value {value!r} to TOML")


def _toml_key(key: str) -> str:
    bare = key and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in key)
    return key if bare else json.dumps(key, ensure_ascii=False)


def _toml_pair(key: str, value: Any) -> str:
    return f"{_toml_key(key)} = {_toml_value(value)}"


def _toml_table(name: str, table: Mapping[str, Any]) -> list[str]:
    plain = {k: v for k, v in table.items() if not isinstance(v, Mapping)}
    nested = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    lines = [f"[{name}]", *(_toml_pair(k, v) for k, v in plain.items()), ""]
    for key, sub in nested.items():
        lines += _toml_table(f"{name}.{_toml_key(key)}", sub)
    return lines
