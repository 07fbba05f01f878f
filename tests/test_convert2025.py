"""Converters of the 2025 vintage on small files in the official layouts, and fetch by vintage.

The layouts: ONS ``sapelsoasyoa20222024.xlsx`` (sheets ``Mid-YYYY LSOA 2021``, three title rows,
header on row 4: ``LAD 2023 Code, LAD 2023 Name, LSOA 2021 Code, LSOA 2021 Name, Total,
F0 … F90, M0 … M90``); IoD 2025 File 7 (published headers); ONS Open Geography lookups.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from optimiser import convert2025, loaders2025
from optimiser.errors import InputError

SEXES = [f"{s}{a}" for s in ("F", "M") for a in range(91)]
HEADER = ["LAD 2023 Code", "LAD 2023 Name", "LSOA 2021 Code", "LSOA 2021 Name", "Total", *SEXES]


def _sape_row(lad: str, code: str, name: str, seed: int) -> list:
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 15, size=len(SEXES)).tolist()
    return [lad, "Somewhere", code, name, int(sum(cells)), *cells]


def write_sape(path: Path, years=(2022, 2023), rows=None, total_off: bool = False) -> dict:
    """A workbook in the ONS layout; returns the rows of the latest year's sheet."""
    wb = openpyxl.Workbook()
    wb.active.title = "Cover_sheet"
    wb.active["A1"] = "Lower layer Super Output Area population estimates"
    latest = {}
    for y in years:
        ws = wb.create_sheet(f"Mid-{y} LSOA 2021")
        ws.append([f"Mid-{y} population estimates for Lower layer Super Output Areas"])
        ws.append(["This worksheet contains one table."])
        ws.append(["Source: Office for National Statistics"])
        ws.append(HEADER)
        data = rows or [_sape_row("E06000017", "E01013434", "Rutland 001A", y),
                        _sape_row("E06000017", "E01013433", "Rutland 001B", y + 1),
                        _sape_row("W06000001", "W01000001", "Isle of Anglesey 001A", y + 2)]
        for r in data:
            ws.append(list(r))
        latest = {r[2]: r for r in data}
    if total_off:
        ws.cell(row=5, column=5).value = ws.cell(row=5, column=5).value + 1
    wb.save(path)
    return latest


def test_population_from_sape21_latest_sheet_persons_england(tmp_path):
    path = tmp_path / "sapelsoasyoa20222024.xlsx"
    rows = write_sape(path)
    df = convert2025.population_from_sape21(path)
    assert df["lsoa21cd"].tolist() == ["E01013433", "E01013434"]  # English, sorted
    assert set(df["mid_year"]) == {2023}
    r = rows["E01013434"]
    got = df.set_index("lsoa21cd").loc["E01013434"]
    f = dict(zip(HEADER, r, strict=True))
    assert got["total"] == f["Total"]
    for a in (0, 4, 19):
        assert got[f"age_{a}"] == f[f"F{a}"] + f[f"M{a}"]
    assert got["age_0_4"] == sum(f[f"F{a}"] + f[f"M{a}"] for a in range(5))
    assert got["age_0_17"] == sum(f[f"F{a}"] + f[f"M{a}"] for a in range(18))
    assert list(df.columns[:4]) == ["lsoa21cd", "lsoa21nm", "mid_year", "total"]


def test_population_from_sape21_round_trip_through_the_loader(tmp_path):
    write_sape(tmp_path / "s.xlsx")
    root = tmp_path / "root"
    out = root / loaders2025.POPULATION_ONS_FILE
    out.parent.mkdir(parents=True)
    convert2025.population_from_sape21(tmp_path / "s.xlsx").to_csv(out, index=False)
    table, info = loaders2025.load_population(root)
    assert len(table) == 2 and info["derived"] is False
    assert info["estimate"] == "ONS mid-2023, LSOA 2021"


def test_population_from_sape21_errors(tmp_path):
    path = tmp_path / "bad.xlsx"
    write_sape(path, total_off=True)
    with pytest.raises(InputError, match=r"Total is \d+ but F0-F90 and M0-M90 add up to \d+ "
                                         r"for E01013434"):
        convert2025.population_from_sape21(path)
    old = tmp_path / "old.xlsx"
    write_sape(old, years=(2020, 2021))
    with pytest.raises(InputError, match="the latest sheet is 'Mid-2021 LSOA 2021': estimates "
                                         "before mid-2022 are not used"):
        convert2025.population_from_sape21(old)
    none = tmp_path / "none.xlsx"
    openpyxl.Workbook().save(none)
    with pytest.raises(InputError, match="the workbook has no sheet 'Mid-YYYY LSOA 2021'"):
        convert2025.population_from_sape21(none)
    short = tmp_path / "short.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Mid-2024 LSOA 2021"
    ws.append(["title"])
    ws.append(HEADER[:-1])  # M90 missing
    wb.save(short)
    with pytest.raises(InputError, match="the official column 'M90' is missing"):
        convert2025.population_from_sape21(short)


def _file7(path: Path, codes: list[str]) -> None:
    cols = ["LSOA code (2021)", "LSOA name (2021)", "Local Authority District code (2024)",
            "Local Authority District name (2024)"]
    for _stem, (name, score) in convert2025.FILE7_DOMAINS.items():
        cols += [name + score, name + convert2025._RANK, name + convert2025._DECILE]
    rows = []
    for i, code in enumerate(codes):
        row = [code, f"Area {i}", "E06000017", "Rutland"]
        for j in range(len(convert2025.FILE7_DOMAINS)):
            row += [f"{0.1 * (i + j):.3f}", str(i + 1), str(1 + (i + j) % 10)]
        rows.append(row)
    pd.DataFrame(rows, columns=cols).to_csv(path, index=False)


def test_iod2025_from_file7_round_trip(tmp_path):
    path = tmp_path / "File_7.csv"
    _file7(path, ["E01013434", "E01000001", "W01000001"])
    main, file3 = convert2025.iod2025_from_file7(path)
    assert main["lsoa21_code"].tolist() == ["E01000001", "E01013434"]
    assert main.loc[0, "IMD_rank"] == 2 and main.loc[0, "IDACI_score"] == pytest.approx(0.9)
    root = tmp_path / "root"
    for rel, df in ((loaders2025.IMD_FILE, main), (loaders2025.FILE3, file3)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(root / rel, index=False)
    imd = loaders2025.load_imd(root).set_index("lsoa21cd")
    assert imd.loc["E01013434", "idaci_score"] == pytest.approx(0.8)
    assert imd.loc["E01013434", "idaci_rank"] == 1
    assert imd.loc["E01000001", "barriers_score"] == pytest.approx(0.7)


def test_ons_lookups_and_weights(tmp_path):
    ward = tmp_path / "LSOA21_WD24_LAD24_EW_LU.csv"
    pd.DataFrame({"LSOA21CD": ["E01013434"], "LSOA21NM": ["Rutland 001A"],
                  "WD24CD": ["E05010000"], "WD24NM": ["Oakham North"], "LAD24CD": ["E06000017"],
                  "LAD24NM": ["Rutland"], "ObjectId": [1]}).to_csv(ward, index=False)
    df = convert2025.ons_lookup21(ward, convert2025.WARD24_COLUMNS)
    assert df.columns.tolist() == ["lsoa21_name", "lsoa21_code", "ward24_name", "ward24_code",
                                   "ltla24_name", "ltla24_code"]
    changes = pd.DataFrame({"lsoa11_code": ["E1", "E2", "E2", "E3", "E4"],
                            "lsoa21_code": ["A", "B", "C", "D", "D"],
                            "change_code": ["U", "S", "S", "M", "M"]})
    w = convert2025.weights_from_changes(changes)
    assert w["weight"].tolist() == [1.0, 0.5, 0.5, 1.0, 1.0]
    with pytest.raises(InputError, match="the official column 'WD23CD' is missing"):
        convert2025.ons_lookup21(ward, {"lsoa21_code": "LSOA21CD", "ward23_code": "WD23CD"})


def test_fetch_by_vintage_keeps_the_other_vintages_tables(tmp_path):
    """A 2025 fetch from files saved by hand in the cache writes the 2025 tables and keeps the
    2019 tables already cached, with their provenance."""
    from optimiser.sources import Source, fetch_all

    cache = tmp_path / "cache"
    official = cache / "official"
    official.mkdir(parents=True)
    pd.DataFrame({"LSOA11CD": ["E01013434"], "LSOA11NM": ["Rutland 001A"], "RUC11CD": ["D1"],
                  "RUC11": ["Rural town and fringe"]}).to_csv(official / "ruc11.csv", index=False)
    write_sape(official / "sape.xlsx")
    src = Source(id="ons_sape_lsoa21", title="t", publisher="ONS", landing_page="l", url="",
                 filename="sape.xlsx", format="f", vintage="v", converter="ons_sape_lsoa21",
                 canonical=(loaders2025.POPULATION_ONS_FILE,), vintages=("2025",))
    old = Source(id="ons_ruc11", title="t", publisher="ONS", landing_page="l", url="",
                 filename="ruc11.csv", format="f", vintage="v", converter="ons_ruc11",
                 canonical=("lookups/lsoa11_rural_urban_classification_2011_ew.csv",))
    first = fetch_all(manifest=[src, old], cache=cache, progress=False, vintage="2019")
    ruc = (first / old.canonical[0]).read_bytes()
    assert not (first / src.canonical[0]).exists()
    root = fetch_all(manifest=[src, old], cache=cache, progress=False, vintage="2025")
    assert (root / src.canonical[0]).is_file()
    assert (root / old.canonical[0]).read_bytes() == ruc  # the 2019 table is kept
    ids = [s["id"] for s in json.loads((root / "FETCHED.json").read_text())["sources"]]
    assert ids == ["ons_ruc11", "ons_sape_lsoa21"]


def test_manifest_2025_entries_are_complete_and_honest(mirror):
    import re

    from optimiser.sources import load_manifest, required_tables, verify_mirror
    from optimiser.sources2025 import for_vintage

    sources = [s for s in load_manifest() if "2025" in s.vintages]
    assert [s.id for s in sources] == [
        "iod2025_file7", "ons_sape_lsoa21", "ons_lsoa21_ward24", "ons_ltla23_utla23",
        "ons_ruc21", "ons_lsoa11_lsoa21_v2025", "ons_lsoa21_pwc", "ons_lsoa21_boundaries"]
    produced = {rel for s in sources for rel in s.canonical}
    assert produced == {loaders2025.IMD_FILE, loaders2025.FILE3, loaders2025.POPULATION_ONS_FILE,
                        loaders2025.WARD_FILE, loaders2025.UTLA_FILE, loaders2025.RUC_FILE,
                        loaders2025.LSOA11_21_FILE, loaders2025.WEIGHTS_FILE,
                        loaders2025.CENTROIDS_FILE, loaders2025.BOUNDARIES_FILE}
    sources_md = (mirror / "vintage2025" / "SOURCES.md").read_text()
    for s in sources:
        assert s.licence == "Open Government Licence v3.0"
        assert s.landing_page.startswith("https://")
        assert s.url == "" or s.url.startswith("https://")
        if not s.url:
            assert "confirmed on first download" in s.note
        for rel, digest in s.sha256_canonical.items():
            assert rel in s.canonical and re.fullmatch(r"[0-9a-f]{64}", digest)
            assert digest in sources_md  # copied from the mirror's SOURCES.md, never made up
    shared = {s.id for s in for_vintage(load_manifest(), "2025")} - {s.id for s in sources}
    assert shared == {"dfe_cin_b1", "dfe_cpp_d5"}
    checks = verify_mirror(mirror, vintage="2025")
    assert {c.status for c in checks} <= {"checksum ok", "present (no checksum recorded)",
                                          "absent (optional)"}
    assert loaders2025.POPULATION_ONS_FILE not in required_tables(sources)


def test_no_lsoa_2021_population_names_both_files(tmp_path):
    from optimiser.errors import DataSourceError

    with pytest.raises(DataSourceError, match="the data folder holds no LSOA 2021 population: "
                                              "neither the ONS estimates"):
        loaders2025.load_population(tmp_path)
