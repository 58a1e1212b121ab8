"""Compare two ``akarclf score`` outputs and say what moved, each figure against a limit.

A catalogue drifts (new products, new marketplaces, a seasonal mix) and the model's view of it
drifts with it. :func:`compare` takes the columns of a reference run (e.g. last month's
catalogue) and of a current run and checks, each against a configurable :class:`Limits`:

- the share of each decision, reason code and top cluster, and its change;
- the population stability index (:func:`population_stability_index`) of each cluster
  probability and of the protected mass, over the fixed bins :data:`PSI_EDGES`;
- the share of titles whose words the model barely knows (``known_share`` below a cut), when
  both runs carry a ``known_share`` column, else reported as unavailable;
- the review rate, against an absolute ceiling (the queue people must work).

A figure *crosses* its limit when it is strictly above it; the verdict is then ``alert``.
Different model or policy versions between the runs are warnings in the report: the shift may
come from the model rather than the catalogue, and the reader must know it.

Everything here works on columns in memory: no file is read or written. :func:`render_markdown`
and :meth:`MonitorReport.to_dict` give the two report formats; :func:`draw_distributions` the
figure (matplotlib, the optional ``plots`` extra, imported only there).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Final

import numpy as np

from akarclf.clusters import CLUSTERS, PROTECTABLE_CLUSTERS
from akarclf.errors import AkarclfError
from akarclf.gate.reasons import DECISIONS, REASONS

#: Name of the protected-mass distribution in reports.
PROTECTED_MASS: Final = "protected_mass"

#: Bin edges of every PSI, fixed so that reports of different runs compare: fine near 0 and 1,
#: where calibrated probabilities pile up and where the gate's thresholds sit, coarse in
#: between. Bins are ``[lo, hi)``; the last one is ``[0.999, 1]``.
PSI_EDGES: Final[tuple[float, ...]] = (
    0.0, 0.001, 0.01, 0.03, 0.1, 0.2, 0.3, 0.4, 0.5,
    0.6, 0.7, 0.8, 0.9, 0.97, 0.99, 0.999, 1.0,
)  # fmt: skip

#: Smallest bin share used in the PSI, so a bin empty on one side gives a large but finite term.
PSI_FLOOR: Final = 1e-4

#: Groups of the checks that are one figure each.
REVIEW_RATE: Final = "review rate"
BARELY_KNOWN: Final = "barely-known share"

OK: Final = "ok"
ALERT: Final = "alert"
UNAVAILABLE: Final = "unavailable"


class LimitsError(AkarclfError, ValueError):
    """A limits mapping (or file) with an unknown key or an unusable value; names the key."""


@dataclass(frozen=True)
class Limits:
    """The limits the monitor checks against; a figure strictly above its limit is an alert.

    Rates and shares are fractions (0.05 = 5 percentage points).
    """

    #: PSI of a cluster probability or of the protected mass (0.25: the usual "major shift").
    psi: float = 0.25
    #: Absolute change of the share of any decision.
    decision_rate_change: float = 0.05
    #: Absolute change of the share of any reason code.
    reason_rate_change: float = 0.05
    #: Absolute change of the share of any top cluster.
    cluster_rate_change: float = 0.05
    #: Review share of the current run (the project target: at most 10 % of listings).
    review_rate: float = 0.10
    #: Absolute change of the share of barely-known titles.
    barely_known_share_change: float = 0.05
    #: A title is barely known when its ``known_share`` is below this.
    barely_known_below: float = 0.5

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def limits_from_mapping(data: Mapping[str, Any], source: str = "limits") -> Limits:
    """:class:`Limits` from a flat mapping (a parsed TOML file); missing keys keep defaults.

    Raises :class:`LimitsError` naming ``source`` and the key for an unknown key, a value that
    is not a number, or one out of range (``psi`` > 0; every other limit within [0, 1]).
    """
    known = [f.name for f in fields(Limits)]
    values: dict[str, float] = {}
    for key, value in data.items():
        if key not in known:
            raise LimitsError(f"{source}: unknown key {key!r}; valid keys: {', '.join(known)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LimitsError(f"{source}: key {key!r} must be a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise LimitsError(f"{source}: key {key!r} must be finite, got {value!r}")
        if key == "psi" and number <= 0:
            raise LimitsError(f"{source}: key 'psi' must be above 0, got {value!r}")
        if key != "psi" and not 0.0 <= number <= 1.0:
            raise LimitsError(f"{source}: key {key!r} must be within [0, 1], got {value!r}")
        values[key] = number
    return Limits(**values)


@dataclass(frozen=True)
class ScoreColumns:
    """The columns of one ``akarclf score`` output that the monitor reads, already validated.

    ``probabilities`` maps every cluster of :data:`~akarclf.clusters.CLUSTERS` to its float
    column; ``known_share`` is the per-title share of words the model knows (NaN where the
    output has no value), or None when the output has no such column.
    """

    decision: Sequence[str]
    reason: Sequence[str]
    cluster: Sequence[str]
    probabilities: Mapping[str, np.ndarray]
    model_version: Sequence[str]
    policy_version: Sequence[str]
    known_share: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.decision)
        lengths = {
            "reason": len(self.reason),
            "cluster": len(self.cluster),
            "model_version": len(self.model_version),
            "policy_version": len(self.policy_version),
            **{f"p_{c}": len(self.probabilities[c]) for c in CLUSTERS},
        }
        if self.known_share is not None:
            lengths["known_share"] = len(self.known_share)
        wrong = {name: size for name, size in lengths.items() if size != n}
        if wrong:
            raise ValueError(f"columns of unequal length: decision has {n} rows, {wrong}")

    def __len__(self) -> int:
        return len(self.decision)

    @property
    def protected_mass(self) -> np.ndarray:
        """Summed probability of the protectable clusters per title (clipped to [0, 1]).

        This is the gate's protected mass whenever the policy closes all three clusters on the
        decision date, as the shipped policy has since 2021-08-01.
        """
        mass = np.zeros(len(self))
        for cluster in PROTECTABLE_CLUSTERS:
            mass += np.asarray(self.probabilities[cluster], dtype=np.float64)
        return np.clip(mass, 0.0, 1.0)


@dataclass(frozen=True)
class Check:
    """One figure with its verdict.

    ``value`` is what is compared with ``limit``: the change (for rates), the PSI, or the
    current share (for the review rate); None with verdict ``unavailable``.
    """

    group: str
    name: str
    reference: float | None
    current: float | None
    value: float | None
    limit: float
    verdict: str

    @property
    def label(self) -> str:
        """How reports name the check: ``cluster rate other``, ``PSI p_crafts``, ``review rate``."""
        if self.group in ("decision", "reason", "cluster"):
            return f"{self.group} rate {self.name}"
        if self.group == "psi":
            return f"PSI {self.name}"
        return self.group


@dataclass(frozen=True)
class Distribution:
    """Bin shares of one probability column in both runs, and their PSI."""

    name: str
    reference: tuple[float, ...]
    current: tuple[float, ...]
    psi: float


@dataclass(frozen=True)
class MonitorReport:
    """What :func:`compare` found: the checks, the distributions and the warnings."""

    reference_name: str
    current_name: str
    reference_rows: int
    current_rows: int
    versions: Mapping[str, Mapping[str, Mapping[str, int]]]
    limits: Limits
    checks: tuple[Check, ...]
    distributions: tuple[Distribution, ...]
    warnings: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    @property
    def alerts(self) -> tuple[Check, ...]:
        """The checks whose figure crossed its limit."""
        return tuple(c for c in self.checks if c.verdict == ALERT)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data (the ``--json`` file)."""
        return {
            "verdict": ALERT if self.alerts else OK,
            "alerts": len(self.alerts),
            "reference": {"name": self.reference_name, "rows": self.reference_rows},
            "current": {"name": self.current_name, "rows": self.current_rows},
            "versions": {side: dict(v) for side, v in self.versions.items()},
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "limits": self.limits.to_dict(),
            "checks": [{"label": c.label, **asdict(c)} for c in self.checks],
            "psi_bins": {"edges": list(PSI_EDGES), "floor": PSI_FLOOR},
            "distributions": [asdict(d) for d in self.distributions],
        }


def bin_shares(values: np.ndarray, edges: Sequence[float] = PSI_EDGES) -> np.ndarray:
    """Share of ``values`` in each bin ``[edges[i], edges[i+1])`` (the last bin closed)."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        raise ValueError("no values to bin")
    counts, _ = np.histogram(values, bins=np.asarray(edges, dtype=np.float64))
    if counts.sum() != len(values):
        raise ValueError(f"{len(values) - counts.sum()} value(s) outside [{edges[0]}, {edges[-1]}]")
    return counts / len(values)


def psi_of_shares(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI of two bin-share vectors: sum of ``(c - r) * ln(c / r)``, shares floored at
    :data:`PSI_FLOOR`."""
    r = np.maximum(np.asarray(reference, dtype=np.float64), PSI_FLOOR)
    c = np.maximum(np.asarray(current, dtype=np.float64), PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def population_stability_index(
    reference: np.ndarray, current: np.ndarray, edges: Sequence[float] = PSI_EDGES
) -> float:
    """Population stability index of ``current`` against ``reference`` over fixed ``edges``.

    0 for identical distributions; by the usual reading below 0.1 is no real change, 0.1-0.25
    a moderate shift and above 0.25 a major one.
    """
    return psi_of_shares(bin_shares(reference, edges), bin_shares(current, edges))


def _shares(values: Sequence[str]) -> Counter[str]:
    counts = Counter(values)
    total = len(values)
    return Counter({key: count / total for key, count in counts.items()})


def _ordered(known: Sequence[str], *seen: Counter[str]) -> list[str]:
    extra = sorted({key for counts in seen for key in counts} - set(known))
    return [*known, *extra]


def _rate_checks(
    group: str,
    known: Sequence[str],
    reference: Sequence[str],
    current: Sequence[str],
    limit: float,
) -> list[Check]:
    ref, cur = _shares(reference), _shares(current)
    checks = []
    for name in _ordered(known, ref, cur):
        change = cur[name] - ref[name]
        verdict = ALERT if abs(change) > limit else OK
        checks.append(Check(group, name, ref[name], cur[name], change, limit, verdict))
    return checks


def _barely_known(share: np.ndarray, below: float) -> float | None:
    present = share[~np.isnan(share)]
    return float(np.mean(present < below)) if len(present) else None


def _known_words_check(
    reference: ScoreColumns, current: ScoreColumns, limits: Limits
) -> tuple[Check, str | None]:
    name = f"known_share < {limits.barely_known_below:g}"
    lacking = [
        side
        for side, columns in (("reference", reference), ("current", current))
        if columns.known_share is None
    ]
    ref = (
        None
        if reference.known_share is None
        else _barely_known(reference.known_share, limits.barely_known_below)
    )
    cur = (
        None
        if current.known_share is None
        else _barely_known(current.known_share, limits.barely_known_below)
    )
    limit = limits.barely_known_share_change
    if ref is None or cur is None:
        why = (
            "no known_share column in either run"
            if len(lacking) == 2
            else f"no known_share column in the {lacking[0]} run"
            if lacking
            else "no known_share value in one of the runs"
        )
        note = f"share of barely-known titles unavailable: {why}"
        return Check(BARELY_KNOWN, name, ref, cur, None, limit, UNAVAILABLE), note
    change = cur - ref
    verdict = ALERT if abs(change) > limit else OK
    return Check(BARELY_KNOWN, name, ref, cur, change, limit, verdict), None


def _version_warnings(kind: str, reference: Counter[str], current: Counter[str]) -> list[str]:
    warnings = []
    for side, counts in (("reference", reference), ("current", current)):
        if len(counts) > 1:
            warnings.append(f"the {side} run mixes {kind} versions: {', '.join(sorted(counts))}")
    if set(reference) != set(current):
        warnings.append(
            f"{kind} versions differ: reference {', '.join(sorted(reference))}, current "
            f"{', '.join(sorted(current))}; a shift may come from the {kind}, not the catalogue"
        )
    return warnings


def compare(
    reference: ScoreColumns,
    current: ScoreColumns,
    limits: Limits | None = None,
    *,
    reference_name: str = "reference",
    current_name: str = "current",
) -> MonitorReport:
    """Check what moved from ``reference`` to ``current`` (see the module docstring).

    Raises ValueError when either run has no rows: there is no rate to compare.
    """
    limits = Limits() if limits is None else limits
    for name, columns in ((reference_name, reference), (current_name, current)):
        if not len(columns):
            raise ValueError(f"{name}: no scored rows to compare")

    checks = [
        *_rate_checks(
            "decision", DECISIONS, reference.decision, current.decision,
            limits.decision_rate_change,
        ),
        *_rate_checks(
            "reason", REASONS, reference.reason, current.reason, limits.reason_rate_change
        ),
        *_rate_checks(
            "cluster", CLUSTERS, reference.cluster, current.cluster, limits.cluster_rate_change
        ),
    ]  # fmt: skip

    distributions_in = {PROTECTED_MASS: (reference.protected_mass, current.protected_mass)}
    for cluster in CLUSTERS:
        distributions_in[f"p_{cluster}"] = (
            reference.probabilities[cluster],
            current.probabilities[cluster],
        )
    distributions = []
    for name, (ref_values, cur_values) in distributions_in.items():
        ref_shares, cur_shares = bin_shares(ref_values), bin_shares(cur_values)
        psi = psi_of_shares(ref_shares, cur_shares)
        distributions.append(
            Distribution(name, tuple(ref_shares.tolist()), tuple(cur_shares.tolist()), psi)
        )
        verdict = ALERT if psi > limits.psi else OK
        checks.append(Check("psi", name, None, None, psi, limits.psi, verdict))

    known_check, note = _known_words_check(reference, current, limits)
    checks.append(known_check)

    ref_review = _shares(reference.decision)["review"]
    cur_review = _shares(current.decision)["review"]
    verdict = ALERT if cur_review > limits.review_rate else OK
    checks.append(
        Check(
            REVIEW_RATE, "review", ref_review, cur_review, cur_review, limits.review_rate, verdict
        )
    )

    ref_models, cur_models = Counter(reference.model_version), Counter(current.model_version)
    ref_policies, cur_policies = Counter(reference.policy_version), Counter(current.policy_version)
    return MonitorReport(
        reference_name=reference_name,
        current_name=current_name,
        reference_rows=len(reference),
        current_rows=len(current),
        versions={
            "reference": {"model": dict(ref_models), "policy": dict(ref_policies)},
            "current": {"model": dict(cur_models), "policy": dict(cur_policies)},
        },
        limits=limits,
        checks=tuple(checks),
        distributions=tuple(distributions),
        warnings=(
            *_version_warnings("model", ref_models, cur_models),
            *_version_warnings("policy", ref_policies, cur_policies),
        ),
        notes=() if note is None else (note,),
    )


# --- Markdown ---------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _points(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.1f} pp"


def _change(check: Check) -> float | None:
    if check.reference is None or check.current is None:
        return None
    return check.current - check.reference


def _verdict(check: Check) -> str:
    return "**ALERT**" if check.verdict == ALERT else check.verdict


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _versions(versions: Mapping[str, Mapping[str, int]], kind: str) -> str:
    return ", ".join(sorted(versions[kind]))


def _rate_row(check: Check, limit: str) -> tuple[str, ...]:
    return (
        check.name,
        _percent(check.reference),
        _percent(check.current),
        _points(_change(check)),
        limit,
        _verdict(check),
    )


def _rate_table(checks: Sequence[Check], limit_of: str) -> list[str]:
    """Rates with their change; ``limit_of`` says what the limit bounds (change or current)."""
    rows = [
        _rate_row(
            c, f"± {100 * c.limit:.1f} pp" if limit_of == "change" else f"≤ {_percent(c.limit)}"
        )
        for c in checks
    ]
    header = ("", "reference", "current", "change", f"limit ({limit_of})", "verdict")
    return _table(header, rows)


def render_markdown(report: MonitorReport) -> str:
    """The report as Markdown: verdict line, runs, warnings, then one table per kind of check."""
    alerts = report.alerts
    heading = f"ALERT, {len(alerts)} limit(s) crossed" if alerts else "ok, no limit crossed"
    lines = [f"# akarclf monitor: {heading}", ""]
    if alerts:
        crossed = ", ".join(c.label for c in alerts)
        lines += [f"Crossed: {crossed}.", ""]
    for side, name, rows in (
        ("reference", report.reference_name, report.reference_rows),
        ("current", report.current_name, report.current_rows),
    ):
        versions = report.versions[side]
        lines.append(
            f"- {side}: `{name}`, {rows:,} rows, model {_versions(versions, 'model')}, "
            f"policy {_versions(versions, 'policy')}"
        )
    lines.append("")
    lines += [f"> **Warning:** {warning}  " for warning in report.warnings]
    lines += [f"> Note: {note}  " for note in report.notes]
    if report.warnings or report.notes:
        lines.append("")

    def group(name: str) -> list[Check]:
        return [c for c in report.checks if c.group == name]

    for name, title in (
        ("decision", "Decisions"),
        ("reason", "Reasons"),
        ("cluster", "Top clusters"),
    ):
        lines += [f"## {title}", "", *_rate_table(group(name), "change")]
    lines += ["## Review rate", "", *_rate_table(group(REVIEW_RATE), "current")]
    edges = ", ".join(f"{e:g}" for e in PSI_EDGES)
    lines += [
        "## Distributions (population stability index)",
        "",
        f"Fixed bins, edges {edges}; bin shares floored at {PSI_FLOOR:g}. "
        f"{PROTECTED_MASS} = {' + '.join(f'p_{c}' for c in PROTECTABLE_CLUSTERS)}.",
        "",
        *_table(
            ("", "PSI", "limit", "verdict"),
            [
                (c.name, f"{c.value or 0.0:.3f}", f"≤ {c.limit:g}", _verdict(c))
                for c in group("psi")
            ],
        ),
        "## Titles whose words the model barely knows",
        "",
        *_rate_table(group(BARELY_KNOWN), "change"),
    ]
    return "\n".join(lines).rstrip() + "\n"


# --- figure -----------------------------------------------------------------------------------


def draw_distributions(report: MonitorReport) -> Any:
    """A matplotlib Figure: reference and current bin shares of every distribution, with PSI.

    Bins are drawn side by side at equal width (their edges are uneven), labelled by their
    lower edge. Raises ImportError with install instructions when matplotlib is missing.
    """
    from akarclf.evaluation.plots import require_matplotlib

    figure_class, canvas_class = require_matplotlib()
    panels = len(report.distributions)
    figure = figure_class(figsize=(11, 2.6 * panels), dpi=100, layout="constrained")
    canvas_class(figure)
    axes_list = figure.subplots(panels, 1, squeeze=False)[:, 0]
    positions = np.arange(len(PSI_EDGES) - 1)
    labels = [f"{lo:g}–{hi:g}" for lo, hi in itertools.pairwise(PSI_EDGES)]
    verdicts = {c.name: c.verdict for c in report.checks if c.group == "psi"}
    for axes, dist in zip(axes_list, report.distributions, strict=True):
        axes.bar(positions - 0.2, dist.reference, width=0.4, label=report.reference_name)
        axes.bar(positions + 0.2, dist.current, width=0.4, label=report.current_name)
        axes.set_xticks(positions, labels=labels, rotation=30, ha="right", fontsize=7)
        axes.set_ylabel("share of titles")
        axes.set_title(f"{dist.name}: PSI {dist.psi:.3f} ({verdicts[dist.name]})", fontsize=10)
        axes.legend(fontsize=7)
    figure.suptitle(f"akarclf monitor: {report.reference_name} → {report.current_name}")
    return figure
