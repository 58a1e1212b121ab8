"""Save and load trained models as single files that a service can trust.

A model file (``*.akarclf``) is a zip archive of two stored entries: ``metadata.json`` (format
and version, the library versions that wrote it, ``model_version``, ``labels``, ``text_data``,
what the trainer added, and two digests) and ``model.skops``, the estimator in skops format.
``sha256`` is the SHA-256 of ``b"akarclf-model\\n" + canonical metadata JSON without "sha256"
+ b"\\n" + payload``: a change to either entry is found before any object is rebuilt. The
digest detects damage, not malice; against a hostile file stand skops, which rebuilds only
:data:`TRUSTED_TYPES` and never runs pickle, and size limits checked before anything is read.

Format 2 records in ``text_data`` the SHA-256 of each text data file that shapes the features
(``akarclf/text/data``); loading warns when the installed ones differ. The vectorizers pack
their own vocabularies (:mod:`akarclf.model.features`). Format 1 (akarclf 0.1, which names
the modules from before the move to packages) is still read. Another scikit-learn major.minor
is refused (skops rebuilds estimators from private attributes) unless
``allow_version_mismatch=True``; another akarclf version only warns.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import platform
import stat
import tempfile
import threading
import warnings
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from akarclf._version import __version__
from akarclf.model.errors import (
    IncompatibleModelError,
    ModelFileError,
    ModelIntegrityError,
    ModelNotFoundError,
    ModelVersionWarning,
    NotAModelError,
    TextDataWarning,
    UntrustedTypeError,
)
from akarclf.model.features import MalformedVocabularyError

FORMAT_NAME = "akarclf-model"
#: Version written; :data:`READABLE_FORMATS` are read.
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
DEFAULT_MODEL_FILE = "akarclf-default.akarclf"
#: Where ``akarclf train`` writes the default model, relative to the repository root.
DEFAULT_MODEL_PATH = Path("models") / DEFAULT_MODEL_FILE
TRAIN_COMMAND = f"akarclf train --data <data directory> --out {DEFAULT_MODEL_PATH.as_posix()}"
#: Largest uncompressed payload accepted, declared sizes checked before reading (the shipped
#: model's skops payload is about 10 MB once inflated).
MAX_PAYLOAD_BYTES = 512 << 20
MAX_METADATA_BYTES = 1 << 20

#: Types skops may rebuild beyond its defaults (scikit-learn estimators, numpy, scipy sparse,
#: builtins). Each is a plain data holder whose methods only read its attributes.
TRUSTED_TYPES: list[str] = [
    "akarclf.model.classifier.ClusterClassifier",
    "akarclf.text.normalize.TitleNormalizer",
    "akarclf.text.normalize.WordAnalyzer",
    "akarclf.model.features.CachedCharTfidfVectorizer",
    "akarclf.model.features.CachedWordTfidfVectorizer",
    # Fitted internals of CalibratedClassifierCV (private, hence not in skops' defaults).
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.calibration._TemperatureScaling",
    "sklearn.model_selection._split.StratifiedKFold",
]

#: Modules whose classes moved when akarclf was split into packages (format 1 names the old).
_MOVED_MODULES = {
    "akarclf.model": "akarclf.model.classifier",
    "akarclf.text": "akarclf.text.normalize",
    "akarclf.features": "akarclf.model.features",
}
_METADATA, _PAYLOAD = "metadata.json", "model.skops"
_HASH_PREFIX = b"akarclf-model\n"
_CHUNK = 1 << 20
_RESERVED = {"format", "format_version", "created_at", "model_type", "text_data"}
_RESERVED |= {"payload_sha256", "sha256", "python_version"}
_RESERVED |= {f"{lib}_version" for lib in ("akarclf", "sklearn", "numpy", "scipy", "skops")}
#: Keys save_model always sets itself; values the caller passes for them are replaced.
RESERVED_KEYS = frozenset(_RESERVED)


_DAMAGED = f"Copy the file again from its source, or retrain: {TRAIN_COMMAND}"
_NOT_OURS = "Pass a file written by akarclf's save_model (akarclf train --out)"


def _json_default(value: object) -> object:
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r:.80}")


def _digest_start(metadata: Mapping[str, Any]) -> Any:
    """SHA-256 of the digest's prefix and metadata, ready for the payload's bytes."""
    body = {k: v for k, v in metadata.items() if k != "sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(_HASH_PREFIX + canonical.encode() + b"\n")


def _qualified_name(obj: object) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


@functools.cache
def text_data_versions() -> dict[str, str]:
    """SHA-256 of each installed text data file that shapes the features, by file name."""
    folder = resources.files("akarclf.text").joinpath("data")
    return {
        entry.name: hashlib.sha256(entry.read_bytes()).hexdigest()
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith((".txt", ".toml"))
    }


def save_model(
    model: object, path: str | os.PathLike[str], *, metadata: Mapping[str, Any] | None = None
) -> Path:
    """Write ``model`` and ``metadata`` (JSON-serialisable) to the file ``path``; its path.

    :data:`RESERVED_KEYS` are filled in here; ``labels`` defaults to ``model.classes_`` and
    ``model_version`` to ``<date>-<first 12 hex digits of the payload digest>``. The file is
    renamed into place, so readers never see half a file. Raises ``TypeError`` if the model
    holds a type :func:`load_model` would refuse, so a file that cannot be loaded is never
    written.
    """
    import scipy
    import sklearn
    import skops
    import skops.io

    try:
        user = json.loads(json.dumps(dict(metadata or {}), default=_json_default))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must be JSON-serialisable with str keys: {exc}") from exc
    payload = skops.io.dumps(model, compression=zipfile.ZIP_DEFLATED)
    refused = sorted(set(skops.io.get_untrusted_types(data=payload)) - set(TRUSTED_TYPES))
    if refused:
        raise TypeError(
            f"cannot save {_qualified_name(model)}: it holds types load_model would refuse "
            f"{refused}; add them to akarclf.model.persistence.TRUSTED_TYPES if they are safe"
        )
    payload_sha, created = hashlib.sha256(payload).hexdigest(), datetime.now(UTC)
    full: dict[str, Any] = {k: v for k, v in user.items() if k not in RESERVED_KEYS}
    if "labels" not in full and getattr(model, "classes_", None) is not None:
        full["labels"] = [str(c) for c in model.classes_]  # type: ignore[attr-defined]
    full.setdefault("model_version", f"{created:%Y%m%d}-{payload_sha[:12]}")
    full.update(
        format=FORMAT_NAME,
        format_version=FORMAT_VERSION,
        akarclf_version=__version__,
        sklearn_version=sklearn.__version__,
        numpy_version=np.__version__,
        scipy_version=scipy.__version__,
        skops_version=skops.__version__,
        python_version=platform.python_version(),
        created_at=created.isoformat(timespec="seconds"),
        model_type=_qualified_name(model),
        text_data=text_data_versions(),
        payload_sha256=payload_sha,
    )
    digest = _digest_start(full)
    digest.update(payload)
    full["sha256"] = digest.hexdigest()
    target = Path(path)
    _write_container(target, full, payload)
    return target


def _write_container(path: Path, metadata: Mapping[str, Any], payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(metadata, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
                archive.writestr(_METADATA, text.encode("utf-8"))
                archive.writestr(_PAYLOAD, payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(name, 0o644)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _open_regular(path: Path) -> io.BufferedReader:
    """The file opened for reading; refuses at once what is missing or not a regular file
    (opening is non-blocking: a FIFO would otherwise wait for a writer for ever)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        remedy = f"Check the path, or train a model: {TRAIN_COMMAND}"
        raise ModelNotFoundError(path, "model file not found", remedy) from None
    except OSError as exc:
        raise ModelFileError(path, f"cannot read the file ({exc.strerror})", "Check it") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "not a regular file"
        kind = "a directory" if stat.S_ISDIR(mode) else kind
        raise NotAModelError(path, f"is {kind}, not a model file", "Pass the .akarclf file")
    return open(fd, "rb")


def _read_container(path: Path) -> tuple[dict[str, Any], bytes]:
    """Metadata and payload of a model file, verified; nothing is deserialised here."""
    with _open_regular(path) as handle:
        head = handle.read(4)
        if head != b"PK\x03\x04":
            kind = " (it looks like a pickle/joblib file)" if head[:1] == b"\x80" else ""
            problem = "the file is empty" if not head else f"not an akarclf model file{kind}"
            raise NotAModelError(path, problem, _NOT_OURS + "; pickle files are never loaded")
        try:
            with zipfile.ZipFile(handle) as archive:
                return _read_entries(path, archive)
        except ModelFileError:
            raise
        except OSError as exc:
            raise ModelFileError(path, f"cannot read the file ({exc})", "Check it") from None
        except Exception as exc:  # the zip layer parses untrusted bytes: any failure
            problem = f"the model file is truncated or damaged ({exc})"
            raise ModelIntegrityError(path, problem, _DAMAGED) from None


def _read_entries(path: Path, archive: zipfile.ZipFile) -> tuple[dict[str, Any], bytes]:
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if _METADATA not in names:
        if min(info.header_offset for info in infos) > 0:  # the archive found is inside ours
            raise ModelIntegrityError(path, "the model file is truncated", _DAMAGED)
        kind = "a bare skops file" if "schema.json" in names else f"a zip of {names[:5]!r}"
        raise NotAModelError(path, f"{kind}, not an akarclf model file", _NOT_OURS)
    not_model = f"a zip archive but not an akarclf model file (it holds {names[:5]!r})"
    if archive.getinfo(_METADATA).file_size > MAX_METADATA_BYTES:
        raise NotAModelError(path, not_model + " (its metadata.json is too large)", _NOT_OURS)
    try:
        metadata = json.loads(archive.read(_METADATA).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise NotAModelError(path, not_model + " (metadata.json is not JSON)", _NOT_OURS) from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise NotAModelError(path, not_model + f" (format is not {FORMAT_NAME!r})", _NOT_OURS)
    version = metadata.get("format_version")
    if version not in READABLE_FORMATS:
        raise IncompatibleModelError(
            path,
            f"model file format version {version!r}, but akarclf {__version__} reads only "
            f"format versions {', '.join(map(str, READABLE_FORMATS))} (the file was written "
            f"by akarclf {metadata.get('akarclf_version', 'unknown')})",
            f"Install the akarclf version that wrote it, or retrain: {TRAIN_COMMAND}",
        )
    if sorted(names) != sorted([_METADATA, _PAYLOAD]):
        extra = sorted(set(names) - {_METADATA, _PAYLOAD}) or names
        raise ModelIntegrityError(path, f"unexpected entries in the model file: {extra}", _DAMAGED)
    payload = _read_payload(path, archive, archive.getinfo(_PAYLOAD), metadata)
    return metadata, payload


def _refuse_size(path: Path, what: str, declared: int) -> NotAModelError:
    return NotAModelError(
        path,
        f"{what} declares {declared:,} bytes uncompressed, more than the {MAX_PAYLOAD_BYTES:,} "
        "akarclf accepts (a decompression bomb?); nothing was inflated",
        _NOT_OURS,
    )


def _read_payload(
    path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, metadata: Mapping[str, Any]
) -> bytes:
    """The payload, read in bounded chunks while both digests are computed, then verified."""
    if info.file_size > MAX_PAYLOAD_BYTES:
        raise _refuse_size(path, "the model payload", info.file_size)
    if info.compress_type != zipfile.ZIP_STORED:
        raise NotAModelError(path, "the model payload is compressed in the file", _NOT_OURS)
    own, full, chunks = hashlib.sha256(), _digest_start(metadata), []
    with archive.open(info) as entry:
        while chunk := entry.read(_CHUNK):
            own.update(chunk)
            full.update(chunk)
            chunks.append(chunk)
    if own.hexdigest() != metadata.get("payload_sha256"):
        problem = "the model payload does not match its SHA-256 (modified or damaged)"
        raise ModelIntegrityError(path, problem, _DAMAGED)
    if full.hexdigest() != metadata.get("sha256"):
        problem = "the metadata does not match the file's SHA-256 (modified after saving)"
        raise ModelIntegrityError(path, problem, _DAMAGED)
    return b"".join(chunks)


def _check_versions(path: Path, metadata: Mapping[str, Any], allow_mismatch: bool) -> None:
    import sklearn

    saved = str(metadata.get("sklearn_version", "unknown"))
    if saved.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        problem = (
            f"saved with scikit-learn {saved}, but scikit-learn {sklearn.__version__} is "
            "installed; estimators may load and then predict wrongly across minor versions"
        )
        if not allow_mismatch:
            raise IncompatibleModelError(
                path,
                problem,
                f"Install scikit-learn=={saved} or retrain the model: {TRAIN_COMMAND} "
                "(allow_version_mismatch=True loads it anyway, at your own risk)",
            )
        warnings.warn(f"{path}: {problem}", ModelVersionWarning, stacklevel=4)
    if metadata.get("akarclf_version") != __version__:
        warnings.warn(
            f"{path}: saved with akarclf {metadata.get('akarclf_version')}, running akarclf "
            f"{__version__}; retrain to be sure the text features match ({TRAIN_COMMAND})",
            ModelVersionWarning,
            stacklevel=4,
        )
    recorded, installed = metadata.get("text_data"), text_data_versions()
    if recorded is not None and recorded != installed:
        differ = sorted(n for n in {*recorded, *installed} if recorded.get(n) != installed.get(n))
        warnings.warn(
            f"{path}: the text data files {differ} in akarclf/text/data differ from those the "
            f"model was trained with, so its features may differ; retrain ({TRAIN_COMMAND})",
            TextDataWarning,
            stacklevel=4,
        )


def _inner_payload(path: Path, metadata: Mapping[str, Any], payload: bytes) -> bytes:
    """The skops payload after checking its declared sizes; a format 1 payload with its
    moved classes named where they live now."""
    with zipfile.ZipFile(io.BytesIO(payload)) as inner:
        declared = sum(info.file_size for info in inner.infolist())
        if declared > MAX_PAYLOAD_BYTES:
            raise _refuse_size(path, "the skops payload", declared)
        if metadata.get("format_version") != 1:
            return payload
        schema = json.loads(inner.read("schema.json"))
        if not _rename_modules(schema):
            return payload
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as renamed:
            for info in inner.infolist():
                data = json.dumps(schema).encode() if info.filename == "schema.json" else None
                renamed.writestr(info.filename, data if data is not None else inner.read(info))
    return out.getvalue()


def _rename_modules(node: object) -> bool:
    """Point ``__module__`` entries of moved modules at the new ones; whether any moved."""
    moved = False
    if isinstance(node, dict):
        if node.get("__module__") in _MOVED_MODULES:
            node["__module__"], moved = _MOVED_MODULES[node["__module__"]], True
        values: Any = node.values()
    else:
        values = node if isinstance(node, list) else ()
    for value in values:
        moved = _rename_modules(value) or moved
    return moved


def _deserialise(path: Path, metadata: Mapping[str, Any], payload: bytes) -> Any:
    import sklearn
    import skops
    import skops.io

    try:
        payload = _inner_payload(path, metadata, payload)
        refused = sorted(set(skops.io.get_untrusted_types(data=payload)) - set(TRUSTED_TYPES))
        if refused:
            raise UntrustedTypeError(path, refused)
        return skops.io.loads(payload, trusted=TRUSTED_TYPES)
    except ModelFileError:
        raise
    except MalformedVocabularyError as exc:
        problem = f"{exc} although the checksum matches (not written by akarclf's save_model)"
        raise ModelIntegrityError(path, problem, _DAMAGED) from None
    except Exception as exc:
        raise IncompatibleModelError(
            path,
            f"the model could not be rebuilt ({type(exc).__name__}: {exc!s:.200}); it was "
            f"saved with skops {metadata.get('skops_version')} and scikit-learn "
            f"{metadata.get('sklearn_version')}, this is skops {skops.__version__} and "
            f"scikit-learn {sklearn.__version__}",
            f"Install the versions it was saved with, or retrain the model: {TRAIN_COMMAND}",
        ) from None


def read_metadata(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The verified metadata of a model file, without rebuilding the model."""
    return _read_container(default_model_path() if path is None else Path(path))[0]


def _default_candidates() -> list[Path]:
    """Where the default model may be: package data first, then a source checkout's models/."""
    candidates = []
    packaged = resources.files("akarclf").joinpath("_default_model", DEFAULT_MODEL_FILE)
    if isinstance(packaged, Path):  # a zip-imported package has no usable file path
        candidates.append(packaged)
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").is_file():  # a source checkout or editable install
        candidates.append(repo / DEFAULT_MODEL_PATH)
    return candidates


def default_model_path() -> Path:
    """Path of the shipped default model (package data, else a checkout's ``models/``)."""
    candidates = _default_candidates()
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates) or "nowhere (no file-system package)"
    raise ModelNotFoundError(
        DEFAULT_MODEL_PATH,
        f"the default model is not installed (looked in {looked})",
        f"Train it with: {TRAIN_COMMAND}, or pass the path of a model file",
    )


_cache_lock = threading.Lock()
#: resolved path -> ((inode, mtime_ns, size), metadata, model)
_cache: dict[Path, tuple[tuple[int, int, int], dict[str, Any], Any]] = {}


def clear_model_cache() -> None:
    """Forget every loaded model (the next :func:`load_model` reads its file again)."""
    with _cache_lock:
        _cache.clear()


def _load_uncached(path: Path, allow_version_mismatch: bool) -> tuple[dict[str, Any], Any]:
    metadata, payload = _read_container(path)
    _check_versions(path, metadata, allow_version_mismatch)
    model = _deserialise(path, metadata, payload)
    with contextlib.suppress(AttributeError, TypeError):  # objects without attributes
        model.metadata_ = metadata
    return metadata, model


def load_model(
    path: str | os.PathLike[str] | None = None,
    *,
    expected_type: type | None = None,
    allow_version_mismatch: bool = False,
    cache: bool = True,
) -> Any:
    """Load a model file written by :func:`save_model`; ``None`` loads the shipped default.

    Sizes, digests, format and scikit-learn version are checked before anything is rebuilt,
    and skops rebuilds only trusted types; every failure is a :class:`ModelFileError` naming
    the file, the problem and the fix. With ``cache``, a file is loaded once per (path,
    inode, modification time, size) and the one shared, read-only object is returned to
    every thread. ``expected_type`` makes a file holding another kind of object an error.
    """
    resolved = default_model_path() if path is None else Path(path)
    with _open_regular(resolved) as handle:
        status = os.fstat(handle.fileno())
    resolved = resolved.resolve()
    if cache:
        with _cache_lock:
            key = (status.st_ino, status.st_mtime_ns, status.st_size)
            hit = _cache.get(resolved)
            if hit is not None and hit[0] == key:
                # A model cached under allow_version_mismatch=True needs the same permission.
                _check_versions(resolved, hit[1], allow_version_mismatch)
                model = hit[2]
            else:
                metadata, model = _load_uncached(resolved, allow_version_mismatch)
                _cache[resolved] = (key, metadata, model)
    else:
        model = _load_uncached(resolved, allow_version_mismatch)[1]
    if expected_type is not None and not isinstance(model, expected_type):
        raise NotAModelError(
            resolved,
            f"holds a {_qualified_name(model)}, expected a "
            f"{expected_type.__module__}.{expected_type.__qualname__}",
            "Pass a model file of the expected kind",
        )
    return model
