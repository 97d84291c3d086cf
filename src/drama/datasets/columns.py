"""The role of each column of a catalogue: id, feature, carried through, or label.

A survey table holds more than features: identifiers (``objid``, ``source_id``), sky
positions and epochs (``ra``, ``dec``, ``mjd``), text (a class name). Used as features they
rank objects by where they sit on the sky or by their catalogue number, so each column's
role is decided by its name and type before anything is fitted, by these rules:

- **id**: the column named by ``id_column``; else a stored Parquet index; else the first
  column named like an identifier (:data:`ID_NAMES` or ``*_id``, any case) that holds
  text or integers;
- **label**: ``label_column``; else a 0/1 column named like labels (:data:`LABEL_COLUMNS`);
  never a feature;
- **features**: with ``features`` (names or shell patterns), the columns they match;
  otherwise every numeric column that is not named like an identifier or a sky and
  bookkeeping column (:data:`CARRIED_NAMES`, and ``l`` with ``b``); ``exclude`` (names or
  patterns) removes columns from them;
- **carried through**: every other column (copied to the output, never a feature); text
  columns are carried with a note instead of stopping the run.

The command line (``drama score``, ``fit``, ``active``) and :func:`drama.datasets.load_table`
both use :func:`assign_roles`, so they agree on every file.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

import pandas as pd

__all__ = ["CARRIED_NAMES", "GALACTIC_PAIR", "ID_NAMES", "LABEL_COLUMNS", "ColumnRoles",
           "assign_roles", "id_like", "match_model_features"]

#: Column names (any case) taken as object identifiers; ``*_id`` too.
ID_NAMES: tuple[str, ...] = ("id", "objid", "object_id", "source_id", "name", "designation",
                             "*_id")
#: Sky and bookkeeping columns (any case, shell patterns): carried through, not features,
#: unless named in ``features``.
CARRIED_NAMES: tuple[str, ...] = ("ra", "dec", "ra_*", "dec_*", "glon", "glat", "mjd",
                                  "epoch")
#: Galactic longitude and latitude: carried only as a pair, since a lone ``b`` or ``l`` is
#: as likely an ordinary feature (columns ``a``, ``b``, ...).
GALACTIC_PAIR: tuple[str, str] = ("l", "b")
#: Column names taken as the 0/1 anomaly label when no label column is named.
LABEL_COLUMNS: tuple[str, ...] = ("y", "label", "is_anomaly")

# How many feature names the printed roles list before "... and N more".
_SHOWN_FEATURES = 12


def _named_like(name: str, patterns: Sequence[str]) -> bool:
    lowered = name.lower()
    return any(fnmatchcase(lowered, pattern) for pattern in patterns)


def id_like(columns: Sequence[str]) -> list[str]:
    """The columns named like object identifiers, in table order."""
    return [c for c in columns if _named_like(c, ID_NAMES)]


@dataclass(frozen=True)
class ColumnRoles:
    """Which column plays which part (names as in the table, in table order)."""

    id: str | None
    label: str | None
    features: tuple[str, ...]
    carried: tuple[str, ...]
    text: tuple[str, ...]  # the carried columns that hold text

    def lines(self) -> list[str]:
        """The roles in a few lines of plain text, for the terminal."""
        shown = ", ".join(self.features[:_SHOWN_FEATURES])
        more = len(self.features) - _SHOWN_FEATURES
        text = set(self.text)
        numeric = [c for c in self.carried if c not in text]
        carried = ", ".join(numeric)
        if self.text:
            carried += ("; " if numeric else "") + f"{', '.join(self.text)} (text)"
        rows = [("id", self.id or "(none: row numbers)"),
                (f"features ({len(self.features)})",
                 shown + (f", ... and {more} more" if more > 0 else "")),
                ("carried through", carried or "(none)"),
                ("label", self.label or "(none)")]
        width = max(len(key) for key, _ in rows) + 1
        return [f"  {key + ':':<{width}} {value}" for key, value in rows]


def _is_numeric(dtype: object) -> bool:
    return bool(pd.api.types.is_numeric_dtype(dtype))


def _is_id_type(dtype: object) -> bool:
    """Text or integers: what an identifier is stored as (floats would lose digits)."""
    return bool(pd.api.types.is_integer_dtype(dtype)) or not _is_numeric(dtype)


def _matches(patterns: Sequence[str], columns: list[str], option: str, source: str
             ) -> dict[str, list[str]]:
    """Each name or shell pattern with the columns it matches; one that matches none is
    an error (a typo must not silently change the features)."""
    found = {p: [c for c in columns if fnmatchcase(c, p)] for p in patterns}
    empty = [p for p, hits in found.items() if not hits]
    if empty:
        shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
        raise ValueError(f"{source}: {option} {', '.join(map(repr, empty))} matches no column; "
                         f"available columns: {shown}.")
    return found


def _guess_label(frame: pd.DataFrame, candidates: list[str], source: str) -> str | None:
    """A 0/1 column named like labels. Only a column that really holds 0/1 labels is taken
    by its name: a feature called "y" (a coordinate, say) stays a feature, and a 0/1
    "label" beside it is still found (kept as a feature, the labels would leak)."""
    named = [c for name in LABEL_COLUMNS for c in candidates if c == name]
    named += [c for name in LABEL_COLUMNS for c in candidates
              if c.lower() == name and c not in named]
    label = None
    for name in named:
        if not _is_numeric(frame[name].dtype):
            continue  # text: carried through, as every text column
        zero_one = set(pd.unique(frame[name].dropna())) <= {0, 1}
        if zero_one and label is None:
            missing = int(frame[name].isna().sum())
            if missing:  # labels with gaps cannot score; as a feature NaN cannot either
                raise ValueError(
                    f"{source}: column {name!r} is taken for the 0/1 labels by its name, "
                    f"but {missing} of them are missing. Fill them with 0 (normal) or 1 "
                    "(anomaly), or rename the column if it is not the labels."
                )
            label = name
            continue
        why = (f"column {label!r} is taken for the labels" if zero_one else
               "it does not hold only 0 and 1")
        warnings.warn(
            f"{source}: column {name!r} is named like labels but {why}, so it is used as "
            "a feature. Name the label column to choose, or rename it.",
            UserWarning, stacklevel=4,
        )
    return label


def assign_roles(
    frame: pd.DataFrame,
    source: str,
    id_column: str | None = None,
    label_column: str | None = None,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    stored_index: str | None = None,
) -> ColumnRoles:
    """Decide each column's role by the rules of this module.

    ``features`` and ``exclude`` hold column names or shell patterns (``mag_*``).
    ``stored_index`` is the column a Parquet file's named index came back as.

    Raises
    ------
    ValueError
        A named column that is not there, a pattern that matches nothing, a feature
        that cannot be one (the id, the label, text), or no feature left.
    """
    columns = [str(c) for c in frame.columns]
    for what, name in (("id", id_column), ("label", label_column)):
        if name is not None and name not in columns:
            raise ValueError(f"{source}: there is no {what} column {name!r}; available "
                             f"columns: {columns}.")
    dtypes = dict(zip(columns, frame.dtypes, strict=True))
    if id_column is None:
        id_column = stored_index or next(
            (c for c in id_like(columns) if _is_id_type(dtypes[c])), None)
    if label_column is None:
        label_column = _guess_label(frame, [c for c in columns if c != id_column], source)
    if id_column is not None and id_column == label_column:
        raise ValueError(f"{source}: {id_column!r} cannot be both the id and the label column.")
    fixed = {id_column: "the id column", label_column: "the label column"}
    others = [c for c in columns if c not in fixed]
    text = {c for c in others if not _is_numeric(dtypes[c])}
    if features:
        found = _matches(features, columns, "--features", source)
        for pattern, hits in found.items():
            for name in hits:  # named outright, it must be able to be a feature
                reason = fixed.get(name) or ("text" if name in text and pattern == name else None)
                if reason and pattern == name:
                    raise ValueError(f"{source}: --features names {name!r}, which is {reason}; "
                                     "it cannot be a feature.")
        chosen = {c for hits in found.values() for c in hits}
    else:
        sky = CARRIED_NAMES
        if all(any(c.lower() == name for c in columns) for name in GALACTIC_PAIR):
            sky += GALACTIC_PAIR
        chosen = {c for c in others if not _named_like(c, ID_NAMES) and not _named_like(c, sky)}
    if exclude:
        chosen -= {c for hits in _matches(exclude, columns, "--exclude", source).values()
                   for c in hits}
    feature_list = tuple(c for c in others if c in chosen and c not in text)
    feature_set = set(feature_list)
    if not feature_list:
        raise ValueError(f"{source}: no column is left to use as a feature (id: {id_column}, "
                         f"label: {label_column}, text: {sorted(text)}); name the features "
                         "with --features (features= in Python).")
    return ColumnRoles(
        id=id_column, label=label_column, features=feature_list,
        carried=tuple(c for c in others if c not in feature_set),
        text=tuple(c for c in others if c in text),
    )


def match_model_features(frame: pd.DataFrame, roles: ColumnRoles, fitted: Sequence[str],
                         source: str) -> pd.DataFrame:
    """The features of ``frame`` in the order a saved model was fitted on, matched by name;
    a feature the model needs that is missing, or one it was not fitted on, is named."""
    fitted = [str(c) for c in fitted]
    have = set(roles.features)
    missing = [c for c in fitted if c not in have]
    known = set(fitted)
    extra = [c for c in roles.features if c not in known]
    if missing or extra:
        parts = []
        if missing:
            where = [c for c in missing if c in frame.columns]
            parts.append(f"the model's feature(s) {missing[:8]} are "
                         + (f"not features here ({where[:8]} are carried or text: name them "
                            "with --features)" if where else "not in the file"))
        if extra:
            parts.append(f"column(s) {extra[:8]} would be features but the model was not "
                         "fitted on them (leave them out with --exclude)")
        raise ValueError(f"{source} has {len(roles.features)} features, the model was fitted "
                         f"on {len(fitted)}: {'; '.join(parts)}.")
    return frame[fitted]
