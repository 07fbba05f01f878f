"""Data vintages: which deprivation index, on which small-area geography.

Two vintages, chosen with ``--vintage`` on ``prepare``, ``data fetch`` and ``demo``:

``2025`` (the default)
    English Indices of Deprivation 2025 (MHCLG, 30 October 2025) on **LSOA 2021** geography
    (33,755 English LSOAs); ONS LSOA 2021 to ward 2024 and district 2024 lookup; upper-tier
    authorities of April 2023 (153 in England, with the 2023 unitaries Cumberland, Westmorland
    and Furness, North Yorkshire and Somerset); rural-urban classification 2021; ONS LSOA
    December 2021 boundaries; DfE children in need at 31 March 2024 (the latest year).
``2019``
    IMD 2019 on **LSOA 2011** geography (32,844 English LSOAs), ONS mid-2019 population,
    upper-tier authorities of 2019, rural-urban classification 2011, DfE figures at 31 March
    2019 (the year of IMD 2019). It gives exactly the figures it gave before 2025 existed.

Each :class:`Vintage` says what it is (for ``prepare.json``, the pack's notes and the
workbook), its sources and their caveats, and reads its tables with the same short column
names, keyed by its LSOA code column (``lsoa11cd`` or ``lsoa21cd``).

Examples
--------
>>> get_vintage("2025").geography
'LSOA 2021'
>>> get_vintage(2019).default_year
2019
>>> DEFAULT_VINTAGE
'2025'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from optimiser import loaders, loaders2025
from optimiser.errors import InputError

VINTAGES = ("2025", "2019")
DEFAULT_VINTAGE = "2025"

#: The stand-in for the IDACI score in the modelled CIN/CPP apportioning when IoD 2025's IDACI
#: score (a rate, published only in Files 5 and 7) is not in the data: the Income domain score,
#: the share of all people in income-deprived households. IDACI is the same measure restricted
#: to children aged 0-15, so the two rank areas alike (IMD 2019, 32,844 English LSOAs:
#: Spearman correlation 0.94, measured on the mirror's File 7 extract);
#: IDACI's rank and decile (File 3) stay available as need indicators.
CASES_RATE_STANDIN = "income_score"

OGL = "Open Government Licence v3.0"


@dataclass(frozen=True)
class Vintage:
    """One data vintage: what it is, where its tables are, how to read them.

    Attributes
    ----------
    key
        ``"2025"`` or ``"2019"``.
    label
        One line naming it, e.g. ``"IoD 2025 on LSOA 2021"``.
    index
        The deprivation index's full name.
    geography
        ``"LSOA 2011"`` or ``"LSOA 2021"``.
    code
        The LSOA code column of its tables (``lsoa11cd`` / ``lsoa21cd``).
    default_year
        DfE year (31 March) for the modelled CIN/CPP.
    sources
        Canonical table -> (title, vintage) for ``prepare.json``.
    caveats
        Sentences every output built on this vintage repeats.
    """

    key: str
    label: str
    index: str
    geography: str
    code: str
    default_year: int
    english_lsoas: int
    utla_year: str
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)
    caveats: tuple[str, ...] = ()
    roles: dict[str, str] = field(default_factory=dict)

    def file(self, role: str) -> str:
        """The canonical table of a role: ``utla``, ``imd``, ``ward``, ``ruc``, ``centroids``."""
        return self.roles[role]

    # Readers (each takes the data root) --------------------------------------------------
    def load_imd(self, root: Path) -> pd.DataFrame:
        return loaders.load_imd(root) if self.key == "2019" else loaders2025.load_imd(root)

    def load_population(self, root: Path) -> tuple[pd.DataFrame, dict]:
        """``(<code>, total, age_0_4, age_0_17, age_0_19)`` and what the estimate is."""
        if self.key == "2019":
            return loaders.load_population(root), {
                "file": loaders.POPULATION_FILE, "estimate": "ONS mid-2019, LSOA 2011",
                "derived": False}
        return loaders2025.load_population(root)

    def _reader(self, name: str) -> Callable[[Path], pd.DataFrame]:
        return getattr(loaders if self.key == "2019" else loaders2025, name)

    def load_utla_lookup(self, root: Path) -> pd.DataFrame:
        return self._reader("load_utla_lookup")(root)

    def load_ward_lookup(self, root: Path) -> pd.DataFrame:
        return self._reader("load_ward_lookup")(root)

    def load_rural_urban(self, root: Path) -> pd.DataFrame:
        return self._reader("load_rural_urban")(root)

    def load_centroids(self, root: Path) -> pd.DataFrame:
        """``<code>, latitude, longitude`` (2019) or ``<code>, x, y, method`` (2025, BNG)."""
        return self._reader("load_centroids")(root)

    def for_data(self, root: Path) -> Vintage:
        """This vintage as the data root's own tables make it. A 2025 root built by ``optimiser
        data fetch`` holds ONS's LSOA 2021 population-weighted centroids, not the mirror's
        derived ones: its sources say so and the derived-centroids caveat is dropped."""
        if self.key != "2025":
            return self
        methods = set(loaders2025.load_centroids(root)["method"])
        if methods != {loaders2025.ONS_PWC_METHOD}:
            return self
        sources = {**self.sources, loaders2025.CENTROIDS_FILE: _ONS_CENTROIDS_2021}
        return replace(self, sources=sources,
                       caveats=tuple(c for c in self.caveats if c != _DERIVED_CENTROIDS))

    def describe(self, population: dict | None = None) -> dict:
        """The vintage for ``prepare.json``: key, label, geography, sources, caveats."""
        caveats = list(self.caveats)
        if population and population.get("note") and population.get("derived"):
            caveats.insert(0, population["note"])
        return {"key": self.key, "label": self.label, "index": self.index,
                "geography": self.geography, "upper_tier_authorities": self.utla_year,
                "population": (population or {}).get("estimate"),
                "sources": [f"{t} ({v})" for t, v in self.sources.values()],
                "caveats": caveats}


_V2019 = Vintage(
    key="2019", label="IMD 2019 on LSOA 2011", index="English Indices of Deprivation 2019",
    geography="LSOA 2011", code="lsoa11cd", default_year=2019, english_lsoas=32_844,
    utla_year="2019",
    sources={
        loaders.UTLA_FILE: ("ONS LSOA (2011) to upper-tier local authority (2019) lookup",
                            "LSOA 2011, UTLA 2019"),
        loaders.IMD_FILE: ("English Indices of Deprivation 2019 (MHCLG)", "IMD 2019, LSOA 2011"),
        loaders.POPULATION_FILE: ("ONS small area population estimates (SAPE22DT2)",
                                  "mid-2019, LSOA 2011"),
        loaders.WARD_FILE: ("ONS LSOA (2011) to ward (2019) lookup", "LSOA 2011, ward/LAD 2019"),
        loaders.RUC_FILE: ("ONS rural-urban classification (2011) of LSOAs", "2011, LSOA 2011"),
        loaders.CENTROIDS_FILE: ("ONS LSOA (2011) population-weighted centroids", "LSOA 2011"),
    },
    caveats=("IMD 2019 describes 2015-16; the English Indices of Deprivation 2025 (on LSOA "
             "2021) are newer: prepare with --vintage 2025",),
    roles={"utla": loaders.UTLA_FILE, "imd": loaders.IMD_FILE, "ward": loaders.WARD_FILE,
           "ruc": loaders.RUC_FILE, "centroids": loaders.CENTROIDS_FILE},
)

_DERIVED_CENTROIDS = ("centroids of the 1,842 LSOAs 2021 made by splitting a 2011 LSOA are "
                      "derived from postcode points, not ONS population-weighted centroids")
_ONS_CENTROIDS_2021 = ("ONS LSOA (December 2021) population-weighted centroids", "LSOA 2021")

_V2025 = Vintage(
    key="2025", label="IoD 2025 on LSOA 2021", index="English Indices of Deprivation 2025",
    geography="LSOA 2021", code="lsoa21cd", default_year=2024, english_lsoas=33_755,
    utla_year="2023",
    sources={
        loaders2025.WARD_FILE: ("ONS LSOA (2021) to ward (2024) to LAD (2024) best-fit lookup",
                                "LSOA 2021, ward/LAD 2024"),
        loaders2025.UTLA_FILE: ("ONS LAD (2023) to upper-tier local authority (2023) lookup",
                                "April 2023"),
        loaders2025.IMD_FILE: ("English Indices of Deprivation 2025 (MHCLG), File 7 scores, "
                               "ranks and deciles", "IoD 2025, LSOA 2021"),
        loaders2025.FILE3: ("English Indices of Deprivation 2025 (MHCLG), File 3: IDACI and "
                            "IDAOPI", "IoD 2025, LSOA 2021"),
        loaders2025.RUC_FILE: ("ONS rural-urban classification (2021) of LSOAs",
                               "2021, LSOA 2021"),
        loaders2025.CENTROIDS_FILE: ("LSOA 2021 population-weighted centroids (derived in the "
                                     "data mirror from ONS 2011 centroids and postcodes)",
                                     "LSOA 2021, derived"),
    },
    caveats=(
        "IoD 2025 publishes the IDACI score only in Files 5 and 7; without it the modelled "
        "children in need and on protection plans are shared by children 0-17 x the Income "
        "domain score (the share of people income-deprived) instead of the IDACI score",
        _DERIVED_CENTROIDS,
        "areas are placed in districts and upper-tier authorities by ONS's 2024 best-fit "
        "lookup (e.g. E01027305 in Cherwell, Oxfordshire)",
    ),
    roles={"utla": loaders2025.UTLA_FILE, "imd": loaders2025.IMD_FILE,
           "ward": loaders2025.WARD_FILE, "ruc": loaders2025.RUC_FILE,
           "centroids": loaders2025.CENTROIDS_FILE},
)

_BY_KEY = {"2019": _V2019, "2025": _V2025}


def get_vintage(key: str | int | Vintage | None) -> Vintage:
    """The :class:`Vintage` for ``"2025"`` / ``"2019"`` (None = :data:`DEFAULT_VINTAGE`).

    Raises
    ------
    InputError
        For any other value, naming the choices.
    """
    if isinstance(key, Vintage):
        return key
    text = DEFAULT_VINTAGE if key is None else str(key).strip()
    if text not in _BY_KEY:
        raise InputError(f"--vintage '{key}' is not a data vintage",
                         hint="use 2025 (IoD 2025 on LSOA 2021, the default) or 2019 (IMD 2019 "
                         "on LSOA 2011)")
    return _BY_KEY[text]
