"""The need index: one multiplier per area, population-weighted mean 1 over the county.

Demand in the model is ``population × need`` ("need-weighted children"): an area with need 2.0
counts each of its children twice, one with need 0.5 counts each child half.

Indicators
----------
The seed report's four indicators are the default, with equal weights:

- ``imd_score``: IMD 2019 score (higher = more deprived);
- ``cpp_rate``: children on child protection plans per 10,000 children aged 0-17;
- ``cin_rate``: children in need per 10,000 children aged 0-17;
- ``under5_share``: children aged 0-4 as a share of the whole population.

Also available by name (see :data:`INDICATORS`): ``idaci_score``, ``income_score``,
``employment_score``, ``idaopi_score`` and the IMD and domain ranks and deciles
(``imd_rank``, ``education_rank``, ``health_decile``, ...). For ranks and deciles a *lower* value
is *more* deprived (rank 1 is the most deprived LSOA in England), so they count with direction
-1. Weights are any non-negative numbers; they are normalised to sum 1 (so weights 1,1,1,1 and
2,2,2,2 give the same index), and an indicator with weight 0 plays no part.

Method ``"z"`` (the default): z-scores
--------------------------------------
1. Each indicator x is standardised across the county's areas as a population-weighted z-score,
   ``z = direction × (x − mean_w(x)) / sd_w(x)``, where the weights are the areas' ``population``
   (the children the service is for). An indicator that is the same everywhere (sd 0) gives
   z = 0: it cannot tell areas apart, so it changes nothing.
2. The composite is ``c = Σ_k w_k z_k`` with the normalised weights w_k.
3. ``need = 1 + spread × c / sd_w(c)``, with ``spread = 0.5``: an area one standard deviation
   needier than the council average counts each child 1.5 times, one standard deviation less
   needy 0.5 times.
4. Need is floored at ``need_floor = 0.2`` (no area's children count for nothing), then every
   value is divided by the population-weighted mean, so the mean is exactly 1. (The floor
   applies before this last rescaling.)

Method ``"rank"``: percentile ranks
-----------------------------------
1. Each indicator's areas are ranked from least to most needy (ties get their average rank) and
   the rank is divided by the number of areas: a percentile rank p in (0, 1], where 1 is the
   neediest area of the county.
2. The composite is ``c = Σ_k w_k p_k``.
3. ``need = c / mean_w(c)`` (population-weighted mean), so the mean is exactly 1. Ranks ignore
   how far apart areas are, so one extreme value cannot dominate; the index is bounded.

Localities
----------
:func:`locality_summary` gives, per locality, its need-weighted children (``need_total``), its
need index (population-weighted mean need of its areas) and its rank (1 = neediest).
:func:`weight_sensitivity` redraws the weights at random many times (uniformly over all ways of
sharing the total weight between the indicators in use) and reports how stable each locality's
rank is: how often it is in the top k, its median rank and its 5th-95th percentile range.

Examples
--------
>>> import pandas as pd
>>> areas = pd.DataFrame({"imd_score": [10.0, 20.0, 30.0], "population": [100, 100, 100]})
>>> compute_need(areas, {"imd_score": 1}).round(3).tolist()
[0.388, 1.0, 1.612]
>>> compute_need(areas, {"imd_score": 1}, method="rank").round(3).tolist()
[0.5, 1.0, 1.5]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimiser.errors import InputError
from optimiser.files import suggest

METHODS = ("z", "rank")
DEFAULT_SPREAD = 0.5
DEFAULT_NEED_FLOOR = 0.2


@dataclass(frozen=True)
class Indicator:
    """One need indicator: the ``areas`` column it reads and which way is needier.

    Attributes
    ----------
    name
        The name used in weights (``imd_score=1,...``).
    column
        The column of the areas table holding it.
    direction
        +1 when a higher value is needier, -1 when a lower value is (ranks, deciles).
    label
        A short label for tables.
    description
        One sentence for the method section of the pack.
    """

    name: str
    column: str
    direction: int
    label: str
    description: str


def _registry() -> dict[str, Indicator]:
    items = [
        Indicator("imd_score", "imd_score", 1, "IMD score",
                  "Index of Multiple Deprivation 2019 score (higher = more deprived)"),
        Indicator("cpp_rate", "cpp_rate", 1, "CPP rate",
                  "children on child protection plans per 10,000 children aged 0-17"),
        Indicator("cin_rate", "cin_rate", 1, "CIN rate",
                  "children in need per 10,000 children aged 0-17"),
        Indicator("under5_share", "under5_share", 1, "% under 5",
                  "children aged 0-4 as a share of the whole population"),
        Indicator("idaci_score", "idaci_score", 1, "IDACI score",
                  "Income Deprivation Affecting Children Index 2019: share of children aged "
                  "0-15 in income-deprived families"),
        Indicator("idaopi_score", "idaopi_score", 1, "IDAOPI score",
                  "Income Deprivation Affecting Older People Index 2019 score"),
        Indicator("income_score", "income_score", 1, "Income score",
                  "IMD 2019 income domain score: share of people income-deprived"),
        Indicator("employment_score", "employment_score", 1, "Employment score",
                  "IMD 2019 employment domain score: share of working-age people "
                  "employment-deprived"),
    ]
    domains = {
        "imd": "Index of Multiple Deprivation", "income": "income domain",
        "employment": "employment domain", "education": "education, skills and training domain",
        "health": "health deprivation and disability domain", "crime": "crime domain",
        "barriers": "barriers to housing and services domain",
        "living_env": "living environment domain", "idaci": "IDACI", "idaopi": "IDAOPI",
    }
    for key, what in domains.items():
        label = key.replace("_", " ").upper() if key in ("imd", "idaci", "idaopi") else (
            key.replace("_", " ").capitalize())
        items.append(Indicator(f"{key}_rank", f"{key}_rank", -1, f"{label} rank",
                               f"IMD 2019 {what} rank in England (1 = most deprived)"))
        items.append(Indicator(f"{key}_decile", f"{key}_decile", -1, f"{label} decile",
                               f"IMD 2019 {what} decile in England (1 = most deprived 10%)"))
    return {i.name: i for i in items}


#: Every indicator a weight can name: name -> :class:`Indicator`.
INDICATORS: dict[str, Indicator] = _registry()

#: The seed report's four indicators, equal weights.
DEFAULT_WEIGHTS = {"imd_score": 1.0, "cpp_rate": 1.0, "cin_rate": 1.0, "under5_share": 1.0}

_WEIGHTS_HINT = ("write weights as name=number pairs separated by commas, "
                 "e.g. imd_score=2,cin_rate=1")


def _unknown_indicator(name: str, where: str | None = None) -> InputError:
    close = suggest(name, INDICATORS)
    hint = f"did you mean '{close[0]}'? " if close else ""
    hint += "available indicators: " + ", ".join(INDICATORS)
    return InputError(f"unknown need indicator '{name}'", key=where, hint=hint)


def _check_weights(weights: Mapping[str, float], where: str | None = None) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in weights.items():
        name = str(name).strip()
        if name not in INDICATORS:
            raise _unknown_indicator(name, where)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"the weight of '{name}' is '{value}', not a number", key=where,
                             hint=_WEIGHTS_HINT) from None
        if not math.isfinite(number) or number < 0:
            raise InputError(f"the weight of '{name}' is {value}: weights must be zero or more",
                             key=where, hint="use 0 to leave an indicator out")
        out[name] = number
    if not out or sum(out.values()) <= 0:
        raise InputError("every need weight is zero", key=where,
                         hint="give at least one indicator a positive weight, e.g. imd_score=1")
    return out


def parse_weights(text: str | None) -> dict[str, float]:
    """Parse need weights written as ``name=number`` pairs, e.g. ``"imd_score=1,cpp_rate=2"``.

    ``None`` or a blank text gives :data:`DEFAULT_WEIGHTS`. Only the named indicators are used.

    Raises
    ------
    InputError
        For an unknown indicator (with close matches and the list of available names), a value
        that is not a number, a negative weight, or weights that are all zero.

    Examples
    --------
    >>> parse_weights("imd_score=2, cin_rate=1")
    {'imd_score': 2.0, 'cin_rate': 1.0}
    >>> parse_weights(None) == DEFAULT_WEIGHTS
    True
    """
    if text is None or not str(text).strip():
        return dict(DEFAULT_WEIGHTS)
    pairs: dict[str, str] = {}
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise InputError(f"'{part}' is not a name=number pair", key="need weights",
                             hint=_WEIGHTS_HINT)
        name, value = (s.strip() for s in part.split("=", 1))
        if name in pairs:
            raise InputError(f"indicator '{name}' is given twice", key="need weights",
                             hint="give each indicator one weight")
        pairs[name] = value
    return _check_weights(pairs, "need weights")


def _normalised(weights: Mapping[str, float] | None) -> dict[str, float]:
    checked = _check_weights(DEFAULT_WEIGHTS if weights is None else weights)
    total = sum(checked.values())
    return {k: v / total for k, v in checked.items() if v > 0}


def _population(areas: pd.DataFrame, population: str) -> np.ndarray:
    if population not in areas.columns:
        raise InputError(f"the areas table has no '{population}' column", column=population,
                         hint="need is weighted by population: add the children of each area")
    pop = pd.to_numeric(areas[population], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(pop) | (pop < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"area {areas.index[i]} has population "
                         f"{_cell(areas[population].iloc[i])}",
                         column=population, hint="populations must be numbers, zero or more")
    if pop.sum() <= 0:
        raise InputError("the areas' population adds up to zero", column=population,
                         hint="need is a population-weighted index: check the population column")
    return pop


def _cell(value) -> str:
    """A table cell as a user wrote it: 'blank' for an empty one, else its text in quotes (not
    a Python repr such as np.float64(nan))."""
    return "blank" if pd.isna(value) else f"'{value}'"


def _indicator_matrix(areas: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The raw indicator values, one column per name, multiplied by their direction."""
    cols = []
    for name in names:
        ind = INDICATORS[name]
        if ind.column not in areas.columns:
            present = [n for n, i in INDICATORS.items() if i.column in areas.columns]
            raise InputError(
                f"need indicator '{name}' has no column '{ind.column}' in the areas table",
                column=ind.column,
                hint="indicators available here: " + (", ".join(present) or "none")
                + "; give it weight 0 or choose another",
            )
        values = pd.to_numeric(areas[ind.column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"area {areas.index[i]} has no value ({_cell(areas[ind.column].iloc[i])}) for "
                f"need indicator '{name}'", column=ind.column,
                hint="fill in every area's value, or give the indicator weight 0",
            )
        cols.append(ind.direction * values)
    return np.column_stack(cols) if cols else np.zeros((len(areas), 0))


def _wmean(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted mean down axis 0 (works for vectors and matrices)."""
    return np.tensordot(w, x, axes=(0, 0)) / w.sum()


def _wsd(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    mean = _wmean(x, w)
    return np.sqrt(np.maximum(_wmean((x - mean) ** 2, w), 0.0))


def _standardise(raw: np.ndarray, pop: np.ndarray, method: str) -> np.ndarray:
    if method == "z":
        mean = _wmean(raw, pop)
        sd = _wsd(raw, pop)
        # Population-weighted sd can be a rounding error away from 0 for a constant column.
        scale = np.maximum(np.abs(mean), 1.0)
        ok = sd > 1e-12 * scale
        z = np.zeros_like(raw)
        z[:, ok] = (raw[:, ok] - mean[ok]) / sd[ok]
        return z
    n = raw.shape[0]
    return pd.DataFrame(raw).rank(method="average", axis=0).to_numpy(dtype=float) / n


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise InputError(f"unknown need method '{method}'", key="need method",
                         hint="use one of: " + ", ".join(METHODS)
                         + " (z = z-scores, rank = percentile ranks)")


def _composite_to_need(c: np.ndarray, pop: np.ndarray, method: str, spread: float,
                       need_floor: float) -> np.ndarray:
    """Turn composites (a vector, or a matrix with one column per weight draw) into need."""
    if method == "z":
        sd = _wsd(c, pop)
        safe = np.where(sd > 1e-12, sd, 1.0)
        need = 1.0 + spread * np.where(sd > 1e-12, c / safe, 0.0)
        need = np.maximum(need, need_floor)
    else:
        need = c
    return need / _wmean(need, pop)


def compute_need(
    areas: pd.DataFrame,
    weights: Mapping[str, float] | None = None,
    method: str = "z",
    *,
    population: str = "population",
    spread: float = DEFAULT_SPREAD,
    need_floor: float = DEFAULT_NEED_FLOOR,
) -> pd.Series:
    """The need multiplier of every area (population-weighted mean exactly 1).

    Parameters
    ----------
    areas
        One row per area with the indicator columns the weights name and ``population``.
    weights
        Indicator name -> weight (non-negative, normalised to sum 1); None = the defaults.
    method
        ``"z"`` (population-weighted z-scores) or ``"rank"`` (percentile ranks); see the module
        docstring for the formulas.
    population
        The column of weights for means and standard deviations (the children served).
    spread
        Method "z": the need added per standard deviation of the composite (default 0.5).
    need_floor
        Method "z": the smallest need before the final rescaling (default 0.2).

    Returns
    -------
    pandas.Series
        Named ``need``, with the index of ``areas``.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"imd_score": [5.0, 5.0, 40.0], "cin_rate": [100.0, 300.0, 500.0],
    ...                   "population": [200, 100, 100]})
    >>> need = compute_need(a, {"imd_score": 1, "cin_rate": 1})
    >>> round(float((need * a["population"]).sum() / a["population"].sum()), 12)
    1.0
    """
    _check_method(method)
    if spread < 0 or need_floor < 0:
        raise InputError("need spread and floor must be zero or more", key="need",
                         hint=f"defaults: spread {DEFAULT_SPREAD}, floor {DEFAULT_NEED_FLOOR}")
    w = _normalised(weights)
    pop = _population(areas, population)
    names = list(w)
    std = _standardise(_indicator_matrix(areas, names), pop, method)
    composite = std @ np.array([w[n] for n in names])
    need = _composite_to_need(composite, pop, method, spread, need_floor)
    return pd.Series(need, index=areas.index, name="need")


# --------------------------------------------------------------------------------------------
# Localities
# --------------------------------------------------------------------------------------------


def _need_index_ranks(need_index: pd.Series) -> pd.Series:
    """Rank 1 = highest need index; ties broken by locality name (the index)."""
    order = sorted(need_index.index, key=lambda name: (-need_index[name], str(name)))
    return pd.Series(np.arange(1, len(order) + 1), index=order).reindex(need_index.index)


def locality_summary(areas: pd.DataFrame) -> pd.DataFrame:
    """One row per locality: children, need-weighted children, need index and rank, IMD, cases.

    Uses ``locality``, ``population`` and ``need`` (required) and, when present, ``pop_0_4``,
    ``pop_0_19``, ``imd_score``, ``imd_decile``, ``cin``, ``cpp``, ``cases_source``.

    Columns: ``locality``, ``areas`` (count), ``population``, ``pop_0_4``, ``pop_0_19``,
    ``need_total`` (Σ population × need), ``need_index`` (need_total / population: the
    population-weighted mean need, 1 = council average), ``need_rank`` (1 = neediest, ties
    broken by name), ``imd_mean`` (mean IMD score of its areas), ``share_decile_1`` and
    ``share_deciles_1_2`` (share of its areas in the most deprived 10% / 20% of England),
    ``cin``, ``cpp`` (sums), ``cases_source`` (``modelled``, ``council``, or both joined by
    ``;``). Rows are in locality name order.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"locality": ["A", "A", "B"], "population": [10, 30, 20],
    ...                   "need": [2.0, 1.0, 0.5]})
    >>> locality_summary(a)[["locality", "need_total", "need_index", "need_rank"]]
      locality  need_total  need_index  need_rank
    0        A        50.0        1.25          1
    1        B        10.0        0.50          2
    """
    missing = [c for c in ("locality", "population", "need") if c not in areas.columns]
    if missing:
        raise InputError(f"the areas table has no '{missing[0]}' column", column=missing[0],
                         hint="locality summaries need locality, population and need")
    df = areas.copy()
    df["locality"] = df["locality"].astype(str)
    df["_demand"] = df["population"].astype(float) * df["need"].astype(float)
    groups = df.groupby("locality", sort=True)
    out = pd.DataFrame({"areas": groups.size(), "population": groups["population"].sum()})
    for col in ("pop_0_4", "pop_0_19"):
        if col in df.columns:
            out[col] = groups[col].sum()
    out["need_total"] = groups["_demand"].sum()
    pop = out["population"].astype(float)
    out["need_index"] = np.where(pop > 0, out["need_total"] / pop.where(pop > 0, 1.0), np.nan)
    out["need_rank"] = _need_index_ranks(out["need_index"].fillna(-np.inf)).astype("int64")
    if "imd_score" in df.columns:
        out["imd_mean"] = groups["imd_score"].mean()
    if "imd_decile" in df.columns:
        decile = pd.to_numeric(df["imd_decile"], errors="coerce")
        out["share_decile_1"] = (decile == 1).groupby(df["locality"]).mean()
        out["share_deciles_1_2"] = (decile <= 2).groupby(df["locality"]).mean()
    for col in ("cin", "cpp"):
        if col in df.columns:
            out[col] = groups[col].sum()
    if "cases_source" in df.columns:
        out["cases_source"] = groups["cases_source"].agg(
            lambda s: ";".join(sorted(set(s.dropna().astype(str)))))
    return out.rename_axis("locality").reset_index()


def weight_sensitivity(
    areas: pd.DataFrame,
    weights: Mapping[str, float] | None = None,
    method: str = "z",
    *,
    draws: int = 1000,
    top_k: int = 5,
    seed: int = 0,
    population: str = "population",
    spread: float = DEFAULT_SPREAD,
    need_floor: float = DEFAULT_NEED_FLOOR,
) -> pd.DataFrame:
    """How stable the localities' need ranks are when the weights move.

    The weights of the indicators in use (positive weight in ``weights``) are drawn ``draws``
    times uniformly over all ways of sharing the total weight between them (a flat Dirichlet
    distribution, seeded by ``seed``); each draw recomputes every area's need and every
    locality's need index and rank.

    Returns
    -------
    pandas.DataFrame
        One row per locality, sorted by ``base_rank``: ``locality``, ``base_need_index`` and
        ``base_rank`` (with the given weights), ``top_k_share`` (share of draws in which the
        locality is in the top ``top_k``), ``median_rank``, ``best_rank`` and ``worst_rank``
        (5th and 95th percentiles of its rank over the draws), ``draws``, ``top_k``.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"locality": ["A", "B", "C"], "imd_score": [30.0, 20.0, 10.0],
    ...                   "cin_rate": [10.0, 20.0, 30.0], "population": [1, 1, 1]})
    >>> s = weight_sensitivity(a, {"imd_score": 1, "cin_rate": 1}, draws=200, top_k=1)
    >>> s["locality"].tolist()[1], float(s["top_k_share"].iloc[1])
    ('B', 0.0)
    """
    _check_method(method)
    if "locality" not in areas.columns:
        raise InputError("the areas table has no 'locality' column", column="locality",
                         hint="assign localities before the sensitivity report")
    if draws < 1 or top_k < 1:
        raise InputError("draws and top_k must be at least 1", key="need sensitivity")
    w = _normalised(weights)
    names = list(w)
    pop = _population(areas, population)
    std = _standardise(_indicator_matrix(areas, names), pop, method)

    rng = np.random.default_rng(seed)
    drawn = rng.dirichlet(np.ones(len(names)), size=draws) if len(names) > 1 else np.ones(
        (draws, 1))
    base_w = np.array([w[n] for n in names])
    all_w = np.vstack([base_w, drawn])                      # (1 + draws, K)
    need = _composite_to_need(std @ all_w.T, pop, method, spread, need_floor)  # (n, 1 + draws)

    # Locality need index: population-weighted mean need, via an indicator matrix.
    labels = areas["locality"].astype(str).to_numpy()
    names_sorted, inverse = np.unique(labels, return_inverse=True)   # sorted: ties by name
    member = np.zeros((len(names_sorted), len(labels)))
    member[inverse, np.arange(len(labels))] = pop
    loc_pop = member.sum(axis=1)
    index = (member @ need) / np.where(loc_pop > 0, loc_pop, 1.0)[:, None]
    index[loc_pop <= 0, :] = -np.inf
    # Rank 1 = largest index; a stable sort on -index keeps name order for ties.
    order = np.argsort(-index, axis=0, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, len(names_sorted) + 1)[:, None], axis=0)

    base, sampled = ranks[:, 0], ranks[:, 1:]
    out = pd.DataFrame({
        "locality": names_sorted,
        "base_need_index": index[:, 0],
        "base_rank": base,
        "top_k_share": (sampled <= top_k).mean(axis=1),
        "median_rank": np.median(sampled, axis=1),
        "best_rank": np.percentile(sampled, 5, axis=1),
        "worst_rank": np.percentile(sampled, 95, axis=1),
    })
    out["draws"] = draws
    out["top_k"] = top_k
    return out.sort_values("base_rank", kind="stable").reset_index(drop=True)
