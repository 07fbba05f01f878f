"""Loaders: real row counts on the mirror, and each bad input answered by one clear error."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from optimiser import loaders as L
from optimiser.errors import DataSourceError, InputError

OXON = "E10000025"


# --------------------------------------------------------------------------------------------
# Real data
# --------------------------------------------------------------------------------------------


def test_imd_rows_and_ranges(mirror: Path) -> None:
    imd = L.load_imd(mirror)
    assert len(imd) == 32_844 and imd["lsoa11cd"].is_unique
    assert imd["imd_decile"].between(1, 10).all()
    assert (imd["imd_rank"].min(), imd["imd_rank"].max()) == (1, 32_844)
    # The official ranks tie only where the published scores are equal.
    tied = imd[imd["imd_rank"].duplicated(keep=False)]
    assert (tied.groupby("imd_rank")["imd_score"].nunique() == 1).all()
    row = imd.set_index("lsoa11cd").loc["E01028568"]  # Oxford 018B, Northfield Brook
    assert (row["imd_rank"], row["imd_decile"]) == (3168, 1)
    top = imd.loc[imd["imd_rank"] == 1].iloc[0]
    assert top["lsoa11cd"] == "E01021988" and top["imd_score"] == pytest.approx(92.735)


def test_population_rows_and_oxfordshire_totals(mirror: Path) -> None:
    pop = L.load_population(mirror)
    assert len(pop) == 32_844
    assert pop["total"].sum() == 56_286_961
    utla = L.load_utla_lookup(mirror)
    oxon = pop[pop["lsoa11cd"].isin(utla.loc[utla["utla_code"] == OXON, "lsoa11cd"])]
    assert len(oxon) == 407
    assert oxon["total"].sum() == 691_667
    assert (oxon["age_0_4"].sum(), oxon["age_0_17"].sum(), oxon["age_0_19"].sum()) == (
        39_432, 146_123, 163_679)


def test_lookups_rows(mirror: Path) -> None:
    for fn in (L.load_utla_lookup, L.load_ward_lookup, L.load_rural_urban, L.load_centroids,
               L.load_lsoa11_to_21):
        df = fn(mirror)
        assert len(df) == 34_753, fn.__name__
    utla = L.load_utla_lookup(mirror)
    assert (utla["utla_code"] == OXON).sum() == 407
    ruc = L.load_rural_urban(mirror)
    oxon = ruc[ruc["lsoa11cd"].isin(utla.loc[utla["utla_code"] == OXON, "lsoa11cd"])]
    assert oxon["rural"].sum() == 68 + 70
    assert list(L.load_ward_lookup(mirror).columns) == [
        "lsoa11cd", "lsoa11nm", "ward_code", "ward_name", "lad_code", "lad_name"]


def test_cin_cpp_oxfordshire(mirror: Path) -> None:
    la = L.load_la_cin_cpp(mirror)
    assert not la.duplicated(["year", "la_code"]).any()
    row = la[(la["la_code"] == OXON) & (la["year"] == 2019)].iloc[0]
    assert (row["cin"], row["cpp"], row["la_name"], row["old_la_code"]) == (
        4511, 592, "Oxfordshire", "931")
    ox = la[la["la_code"] == OXON].set_index("year")
    assert (ox.loc[2017, "cin"], ox.loc[2017, "cpp"]) == (4808, 609)


def test_childrens_centres_absent_in_mirror(mirror: Path) -> None:
    assert L.load_childrens_centres(mirror) is None


def test_loaders_memoise_per_file(mirror: Path) -> None:
    a = L.load_imd(mirror)
    a.loc[0, "imd_score"] = -1.0  # a caller changing its copy does not change the next call's
    b = L.load_imd(mirror)
    assert b.loc[0, "imd_score"] == pytest.approx(6.208)
    L.clear_cache()
    pd.testing.assert_frame_equal(L.load_imd(mirror), b)


def test_missing_table_is_a_data_source_error(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError) as exc:
        L.load_imd(tmp_path)
    assert "imd2019/imd2019_lsoa_compact.csv" in str(exc.value)
    assert "optimiser data fetch" in exc.value.hint


# --------------------------------------------------------------------------------------------
# Bad inputs: a small data root with the real vintage lookup and an edited population table
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pop_rows(mirror: Path) -> pd.DataFrame:
    """Twenty real Oxfordshire rows of the canonical population table."""
    pop = pd.read_csv(mirror / L.POPULATION_FILE, dtype={"lsoa11cd": str})
    utla = pd.read_csv(mirror / L.UTLA_FILE, dtype=str)
    ox = utla.loc[utla["UTLA19CD"] == OXON, "LSOA11CD"]
    return pop[pop["lsoa11cd"].isin(ox)].head(20).reset_index(drop=True)


def make_root(tmp_path: Path, mirror: Path, rel: str, content: str | bytes) -> Path:
    root = tmp_path / "root"
    (root / "lookups").mkdir(parents=True)
    os.symlink(mirror / L.LSOA21_FILE, root / L.LSOA21_FILE)
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return root


def csv_text(df: pd.DataFrame, sep: str = ",") -> str:
    return df.to_csv(index=False, sep=sep, lineterminator="\n")


def load_pop_error(tmp_path: Path, mirror: Path, content: str | bytes) -> InputError:
    root = make_root(tmp_path, mirror, L.POPULATION_FILE, content)
    with pytest.raises(InputError) as exc:
        L.load_population(root)
    err = exc.value
    assert err.file == str(root / L.POPULATION_FILE)
    assert err.hint
    return err


def test_good_small_file_loads(tmp_path: Path, mirror: Path, pop_rows: pd.DataFrame) -> None:
    root = make_root(tmp_path, mirror, L.POPULATION_FILE, csv_text(pop_rows))
    assert len(L.load_population(root)) == 20


def test_bom_reads_identically(tmp_path: Path, mirror: Path, pop_rows: pd.DataFrame) -> None:
    plain = make_root(tmp_path / "a", mirror, L.POPULATION_FILE, csv_text(pop_rows))
    bom = make_root(tmp_path / "b", mirror, L.POPULATION_FILE,
                    b"\xef\xbb\xbf" + csv_text(pop_rows).encode())
    pd.testing.assert_frame_equal(L.load_population(plain), L.load_population(bom))
    assert L.load_population(bom).columns[0] == "lsoa11cd"


def test_missing_column(tmp_path: Path, mirror: Path, pop_rows: pd.DataFrame) -> None:
    err = load_pop_error(tmp_path, mirror, csv_text(pop_rows.drop(columns=["age_0_4"])))
    assert err.column == "age_0_4"
    assert "required column 'age_0_4' is missing" in err.problem
    assert "the file has columns" in err.hint


def test_duplicate_lsoa(tmp_path: Path, mirror: Path, pop_rows: pd.DataFrame) -> None:
    df = pd.concat([pop_rows, pop_rows.iloc[[3]]], ignore_index=True)
    err = load_pop_error(tmp_path, mirror, csv_text(df))
    code = pop_rows["lsoa11cd"].iloc[3]
    assert (err.row, err.column) == (22, "lsoa11cd")
    assert f"'{code}' appears more than once (first at row 5)" in err.problem
    assert "each 'lsoa11cd' must appear once" in err.hint


def test_non_numeric_count(tmp_path: Path, mirror: Path, pop_rows: pd.DataFrame) -> None:
    df = pop_rows.astype({"age_3": object})
    df.loc[6, "age_3"] = "twelve"
    err = load_pop_error(tmp_path, mirror, csv_text(df))
    assert (err.row, err.column) == (8, "age_3")
    assert "'twelve' is not a number" in err.problem


def test_negative_count(tmp_path: Path, mirror: Path, pop_rows: pd.DataFrame) -> None:
    df = pop_rows.copy()
    df.loc[9, "total"] = -5
    err = load_pop_error(tmp_path, mirror, csv_text(df))
    assert (err.row, err.column) == (11, "total")
    assert "value -5 is negative" in err.problem


def test_band_larger_than_total(tmp_path: Path, mirror: Path, pop_rows: pd.DataFrame) -> None:
    df = pop_rows.copy()
    df.loc[2, "total"] = 10
    err = load_pop_error(tmp_path, mirror, csv_text(df))
    assert (err.row, err.column) == (4, "age_0_4")
    assert "total population of 10" in err.problem


def test_band_not_sum_of_years(tmp_path: Path, mirror: Path, pop_rows: pd.DataFrame) -> None:
    df = pop_rows.copy()
    df.loc[1, "age_0_17"] += 1
    err = load_pop_error(tmp_path, mirror, csv_text(df))
    assert (err.row, err.column) == (3, "age_0_17")
    assert "single years add up to" in err.problem


def test_empty_file(tmp_path: Path, mirror: Path) -> None:
    err = load_pop_error(tmp_path, mirror, "")
    assert "the population table is empty" in err.problem


def test_header_only(tmp_path: Path, mirror: Path, pop_rows: pd.DataFrame) -> None:
    err = load_pop_error(tmp_path, mirror, csv_text(pop_rows.head(0)))
    assert "header but no data rows" in err.problem


def test_semicolon_delimited(tmp_path: Path, mirror: Path, pop_rows: pd.DataFrame) -> None:
    err = load_pop_error(tmp_path, mirror, csv_text(pop_rows, sep=";"))
    assert err.row == 1
    assert "separated by semicolons" in err.problem
    assert "CSV UTF-8" in err.hint


def test_not_an_lsoa_code(tmp_path: Path, mirror: Path, pop_rows: pd.DataFrame) -> None:
    df = pop_rows.copy()
    df.loc[4, "lsoa11cd"] = "OX4 6JZ"
    err = load_pop_error(tmp_path, mirror, csv_text(df))
    assert (err.row, err.column) == (6, "lsoa11cd")
    assert "'OX4 6JZ' is not an LSOA code" in err.problem


def test_lsoa2021_codes(tmp_path: Path, mirror: Path, pop_rows: pd.DataFrame) -> None:
    """Oxfordshire's real changed codes, read from the ONS lookup, in place of 2011 codes."""
    lookup = pd.read_csv(mirror / L.LSOA21_FILE, dtype=str)
    oxon = pd.read_csv(mirror / L.UTLA_FILE, dtype=str).query("UTLA19CD == @OXON")["LSOA11CD"]
    new = sorted(set(lookup.loc[lookup["LSOA11CD"].isin(oxon), "LSOA21CD"])
                 - set(lookup["LSOA11CD"]))
    assert len(new) >= 3
    df = pop_rows.copy()
    df.loc[[5, 7, 8], "lsoa11cd"] = new[:3]
    err = load_pop_error(tmp_path, mirror, csv_text(df))
    assert (err.row, err.column) == (7, "lsoa11cd")
    assert "3 of 20 LSOA codes are LSOA 2021 codes" in err.problem
    assert "IMD 2019 uses LSOA 2011" in err.problem
    assert new[0] in err.problem
    assert "LSOA (2011) to LSOA (2021)" in err.hint


def test_iod2025_headers(tmp_path: Path, mirror: Path) -> None:
    imd = pd.read_csv(mirror / L.IMD_FILE, dtype=str, nrows=5)
    df = imd.rename(columns={"lsoa11cd": "lsoa21cd", "lad19cd": "lad24cd"})
    root = make_root(tmp_path, mirror, L.IMD_FILE, csv_text(df))
    with pytest.raises(InputError) as exc:
        L.load_imd(root)
    err = exc.value
    assert err.column == "lsoa21cd"
    assert "LSOA 2021 / IoD 2025" in err.problem and "LSOA 2011" in err.problem
    assert "Indices of Deprivation 2019" in err.hint


def test_imd_decile_out_of_range(tmp_path: Path, mirror: Path) -> None:
    imd = pd.read_csv(mirror / L.IMD_FILE, dtype={"lsoa11cd": str}, nrows=5)
    imd.loc[2, "idaci_decile"] = 11
    root = make_root(tmp_path, mirror, L.IMD_FILE, csv_text(imd))
    with pytest.raises(InputError) as exc:
        L.load_imd(root)
    assert (exc.value.row, exc.value.column) == (4, "idaci_decile")
    assert "value 11 is out of range (idaci_decile must be from 1 to 10)" in exc.value.problem


def test_imd_negative_score(tmp_path: Path, mirror: Path) -> None:
    imd = pd.read_csv(mirror / L.IMD_FILE, dtype={"lsoa11cd": str}, nrows=5)
    imd.loc[0, "imd_score"] = -2.5
    root = make_root(tmp_path, mirror, L.IMD_FILE, csv_text(imd))
    with pytest.raises(InputError, match=r"value -2\.5 is negative") as exc:
        L.load_imd(root)
    assert (exc.value.row, exc.value.column) == (2, "imd_score")


def test_cin_non_numeric_and_suppressed(tmp_path: Path, mirror: Path) -> None:
    cin = pd.read_csv(mirror / L.CIN_FILE, dtype=str)
    i = cin.index[(cin["new_la_code"] == OXON) & (cin["time_period"] == "2019")][0]
    ok = cin.copy()
    ok.loc[i, "At31_episodes"] = "c"  # DfE suppression: NaN, not an error
    root = make_root(tmp_path / "ok", mirror, L.CIN_FILE, csv_text(ok))
    (root / L.CPP_FILE).symlink_to(mirror / L.CPP_FILE)
    la = L.load_la_cin_cpp(root)
    assert pd.isna(la.loc[(la["la_code"] == OXON) & (la["year"] == 2019), "cin"]).all()
    bad = cin.copy()
    bad.loc[i, "At31_episodes"] = "about 4500"
    root = make_root(tmp_path / "bad", mirror, L.CIN_FILE, csv_text(bad))
    (root / L.CPP_FILE).symlink_to(mirror / L.CPP_FILE)
    with pytest.raises(InputError) as exc:
        L.load_la_cin_cpp(root)
    assert (exc.value.row, exc.value.column) == (i + 2, "At31_episodes")
    assert "'about 4500' is not a count" in exc.value.problem


def test_cin_negative_and_duplicate(tmp_path: Path, mirror: Path) -> None:
    cpp = pd.read_csv(mirror / L.CPP_FILE, dtype=str)
    i = cpp.index[(cpp["new_la_code"] == OXON) & (cpp["time_period"] == "2019")][0]
    neg = cpp.copy()
    neg.loc[i, "CPP_At31"] = "-592"
    root = make_root(tmp_path / "neg", mirror, L.CPP_FILE, csv_text(neg))
    (root / L.CIN_FILE).symlink_to(mirror / L.CIN_FILE)
    with pytest.raises(InputError, match="value -592 is negative") as exc:
        L.load_la_cin_cpp(root)
    assert (exc.value.row, exc.value.column) == (i + 2, "CPP_At31")
    dup = pd.concat([cpp, cpp.loc[[i]]], ignore_index=True)
    root = make_root(tmp_path / "dup", mirror, L.CPP_FILE, csv_text(dup))
    (root / L.CIN_FILE).symlink_to(mirror / L.CIN_FILE)
    with pytest.raises(InputError, match=r"Oxfordshire \(E10000025\) appears twice for 2019"):
        L.load_la_cin_cpp(root)


def test_centroids_swapped(tmp_path: Path, mirror: Path) -> None:
    cen = pd.read_csv(mirror / L.CENTROIDS_FILE, dtype={"lsoa11cd": str}, nrows=4)
    cen = cen.rename(columns={"latitude": "longitude", "longitude": "latitude"})
    root = make_root(tmp_path, mirror, L.CENTROIDS_FILE, csv_text(cen))
    with pytest.raises(InputError, match="out of range") as exc:
        L.load_centroids(root)
    assert exc.value.column == "latitude" and "swapped" in exc.value.hint


def test_childrens_centres_canonical(tmp_path: Path, mirror: Path) -> None:
    text = (
        "urn,name,postcode,easting,northing,la_code,la_name,type,status\n"
        "20001,Blackbird Leys Children's Centre,OX4 6HW,455000,202000,931,Oxfordshire,"
        "Children's centre,open\n"
        "20002,Rose Hill linked site,OX4 4HF,,,931,Oxfordshire,Children's centre linked site,"
        "closed\n"
    )
    root = make_root(tmp_path / "ok", mirror, L.CHILDRENS_CENTRES_FILE, text)
    cc = L.load_childrens_centres(root)
    assert list(cc.columns) == L.CHILDRENS_CENTRE_COLUMNS
    assert list(cc["urn"]) == ["20001", "20002"] and cc["la_code"].iloc[0] == "931"
    assert pd.isna(cc["easting"].iloc[1])
    root = make_root(tmp_path / "bad", mirror, L.CHILDRENS_CENTRES_FILE,
                     text.replace(",open\n", ",operating\n"))
    with pytest.raises(InputError, match="'operating' is not open or closed") as exc:
        L.load_childrens_centres(root)
    assert (exc.value.row, exc.value.column) == (2, "status")


def test_cin_bad_la_code_names_the_file_row(tmp_path: Path, mirror: Path) -> None:
    cin = pd.read_csv(mirror / L.CIN_FILE, dtype=str, keep_default_na=False)
    i = cin.index[(cin["new_la_code"] == OXON) & (cin["time_period"] == "2019")][0]
    cin.loc[i, "new_la_code"] = "Oxfordshire"
    root = make_root(tmp_path, mirror, L.CIN_FILE, csv_text(cin))
    (root / L.CPP_FILE).symlink_to(mirror / L.CPP_FILE)
    with pytest.raises(InputError, match="'Oxfordshire' is not an ONS local authority code") as e:
        L.load_la_cin_cpp(root)
    assert (e.value.row, e.value.column) == (i + 2, "new_la_code")
