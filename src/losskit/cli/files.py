"""Reading arrays from ``.npy``, ``.npz``, ``.csv`` and ``.parquet`` files, safely.

Nothing in a file is ever executed: ``.npy`` and ``.npz`` are read with pickling
disabled (object arrays are refused), CSV is parsed as numbers only, and Parquet
columns are read by pyarrow as plain numeric data.  Every error names the file.

A file may hold several arrays or columns; ``PATH:KEY`` picks one: the array's name
in an ``.npz``, or a column of a ``.csv`` (with a header row) or ``.parquet`` file;
``PATH:A,B,C`` picks several columns, which form the last axis of a 2-D array (class
scores, say).  Columns are always picked by name: a table with a header and more than
one column needs a key (an id column is never read as data by accident).  Without a
key, an ``.npz`` must hold exactly one array, a one-column table gives a 1-D array and
a CSV without a header row gives all its columns.
"""

from __future__ import annotations

import csv
import pickle
import zipfile
from pathlib import Path

import numpy as np

from losskit.cli.output import CommandError

__all__ = ["SUFFIXES", "load_array"]

SUFFIXES: tuple[str, ...] = (".npy", ".npz", ".csv", ".parquet")


def _split_key(spec: str) -> tuple[Path, str | None]:
    path = Path(spec)
    if path.exists() or ":" not in spec:
        return path, None
    head, key = spec.rsplit(":", 1)
    return Path(head), key


def load_array(spec: str) -> np.ndarray:
    """The numeric array in file ``spec`` (``PATH`` or ``PATH:KEY``).

    Integer, floating and boolean data are returned as they are (booleans as int64);
    anything else, and NaN or infinite values, raise :class:`CommandError`.
    """
    path, key = _split_key(spec)
    if not path.is_file():
        raise CommandError(f"{spec}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        if key is not None:
            raise CommandError(f"{spec}: a .npy file holds one array; drop ':{key}'")
        array = _read_npy(path)
    elif suffix == ".npz":
        array = _read_npz(path, key)
    elif suffix == ".csv":
        array = _read_csv(path, key)
    elif suffix == ".parquet":
        array = _read_parquet(path, key)
    else:
        raise CommandError(f"{spec}: unsupported file type; use one of {', '.join(SUFFIXES)}")
    return _checked(array, spec)


def _checked(array: np.ndarray, spec: str) -> np.ndarray:
    if array.dtype == np.bool_:
        return array.astype(np.int64)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise CommandError(f"{spec}: expected numbers; found data of type {array.dtype}")
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise CommandError(f"{spec}: holds NaN or infinite values")
    return array


#: The first bytes of every .npy file.
_NPY_MAGIC = b"\x93NUMPY"


def _read_npy(path: Path) -> np.ndarray:
    with path.open("rb") as handle:
        if handle.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
            # without this check np.load would take the file for a pickle
            raise CommandError(f"{path}: not a valid .npy file (no .npy header)")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise CommandError(
                f"{path}: holds Python objects, which are never loaded (pickling is disabled)"
            ) from None
        raise CommandError(f"{path}: not a valid .npy file ({error})") from None
    except (OSError, EOFError, pickle.UnpicklingError) as error:
        raise CommandError(f"{path}: not a valid .npy file ({error})") from None


def _read_npz(path: Path, key: str | None) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            if key is None:
                if len(names) != 1:
                    raise CommandError(
                        f"{path}: holds {len(names)} arrays ({', '.join(names)}); pick one "
                        f"with {path}:NAME"
                    )
                key = names[0]
            if key not in names:
                raise CommandError(
                    f"{path}: has no array {key!r}; it holds {', '.join(names) or 'none'}"
                )
            return archive[key]
    except CommandError:
        raise
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise CommandError(
                f"{path}: holds Python objects, which are never loaded (pickling is disabled)"
            ) from None
        raise CommandError(f"{path}: not a valid .npz file ({error})") from None
    except (OSError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as error:
        raise CommandError(f"{path}: not a valid .npz file ({error})") from None


def _number(cell: str) -> int | float:
    text = cell.strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def _read_csv(path: Path, key: str | None) -> np.ndarray:
    try:
        with path.open(newline="") as handle:
            rows = [row for row in csv.reader(handle) if any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CommandError(f"{path}: not a readable CSV file ({error})") from None
    if not rows:
        raise CommandError(f"{path}: is empty")
    header: list[str] | None = None
    try:
        [_number(c) for c in rows[0]]
    except ValueError:
        header = [c.strip() for c in rows[0]]
        rows = rows[1:]
    keys = _keys(key)
    if keys is not None:
        if header is None:
            raise CommandError(f"{path}: has no header row, so it has no column {key!r}")
        missing = [k for k in keys if k not in header]
        if missing:
            raise CommandError(
                f"{path}: has no column {missing[0]!r}; columns: {', '.join(header)}"
            )
    elif header is not None and len(header) > 1:
        raise CommandError(_pick_columns(path, header))
    width = len(header) if header is not None else len(rows[0]) if rows else 0
    values: list[list[int | float]] = []
    for line, row in enumerate(rows, start=2 if header is not None else 1):
        if len(row) != width:
            raise CommandError(f"{path}: line {line} has {len(row)} values; expected {width}")
        try:
            values.append([_number(c) for c in row])
        except ValueError:
            raise CommandError(f"{path}: line {line} holds a value that is not a number") from None
    if not values:
        raise CommandError(f"{path}: has no data rows")
    columns = [
        np.array(column, dtype=np.int64 if all(isinstance(v, int) for v in column) else np.float64)
        for column in zip(*values, strict=True)
    ]
    if keys is not None and header is not None:
        picked = [columns[header.index(k)] for k in keys]
        return picked[0] if len(picked) == 1 else np.stack(picked, axis=-1)
    if len(columns) == 1:
        return columns[0]
    return np.stack(columns, axis=-1)  # one dtype: int64 only if every column is integral


def _keys(key: str | None) -> list[str] | None:
    """The columns named by ``KEY`` or ``A,B,C``."""
    return None if key is None else [k.strip() for k in key.split(",")]


def _pick_columns(path: Path, names: list[str]) -> str:
    return (
        f"{path}: has {len(names)} columns ({', '.join(names)}); pick the ones to use with "
        f"{path}:COLUMN, or {path}:A,B,C for several (class scores)"
    )


def _read_parquet(path: Path, key: str | None) -> np.ndarray:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise CommandError(
            f"{path}: reading .parquet files needs pyarrow: pip install 'losskit[cli]'"
        ) from None
    try:
        table = pq.read_table(path)
    except Exception as error:  # pyarrow raises its own error types for malformed files
        raise CommandError(f"{path}: not a valid Parquet file ({error})") from None
    names = table.column_names
    keys = _keys(key)
    missing = [k for k in keys or [] if k not in names]
    if missing:
        raise CommandError(f"{path}: has no column {missing[0]!r}; columns: {', '.join(names)}")
    if keys is None and len(names) > 1:
        raise CommandError(_pick_columns(path, names))
    columns = []
    for name in keys if keys is not None else names:
        column = table.column(name)
        if column.null_count:
            raise CommandError(f"{path}: column {name!r} has missing values")
        try:
            data = column.to_numpy()
        except Exception as error:  # nested or non-numeric column types
            raise CommandError(f"{path}: column {name!r} is not numeric ({error})") from None
        if data.dtype == object:
            raise CommandError(f"{path}: column {name!r} is not numeric")
        columns.append(data)
    if not columns:
        raise CommandError(f"{path}: has no columns")
    return columns[0] if len(columns) == 1 else np.stack(columns, axis=-1)
