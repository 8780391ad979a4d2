"""Typed frame shapes shared by the domain modules.

Every frame the domain returns is built through `conform`, so an empty batch has the same
columns and dtypes as a full one. Conventions: text is pandas' `str` dtype (missing = NaN),
timestamps are naive UTC `datetime64[us]` (missing = NaT), money is float64 rounded to
cents, nullable flags are pandas `boolean`. Writers turn NA into SQL NULL.
"""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

TEXT = "str"
INT = "int64"
FLOAT = "float64"
BOOL = "bool"
MAYBE_BOOL = "boolean"
TIME = "datetime64[us]"
OBJECT = "object"

Shape = Mapping[str, str]


def empty(shape: Shape) -> pd.DataFrame:
    """A zero-row frame with exactly `shape`'s columns and dtypes."""
    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in shape.items()})


def conform(df: pd.DataFrame | Mapping, shape: Shape) -> pd.DataFrame:
    """Exactly `shape`'s columns, in its order, cast to its dtypes (missing columns raise)."""
    df = pd.DataFrame(df)
    if df.empty:
        return empty(shape)
    missing = [name for name in shape if name not in df.columns]
    if missing:
        raise KeyError(f"frame lacks columns {missing}")
    out = df.loc[:, list(shape)].reset_index(drop=True)
    return out.astype({name: _castable(out[name], dtype) for name, dtype in shape.items()})


def _castable(col: pd.Series, dtype: str) -> str:
    # object columns holding only None would become the string "None" under some casts;
    # pandas' own casts handle None for str/datetime/boolean, so only guard int/bool.
    if dtype in (INT, BOOL) and col.isna().any():
        raise ValueError(f"column {col.name!r} has missing values but must be {dtype}")
    return dtype


def money(values: pd.Series) -> pd.Series:
    """Float money rounded to cents."""
    return values.astype(float).round(2)
