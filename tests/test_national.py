"""``optimiser national``: every authority prepared and solved at a budget rule, on a Dask
cluster; the same table whatever the number of workers; resume; failed rows; bad inputs."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from optimiser.cli import app
from optimiser.errors import InputError
from optimiser.national import NATIONAL_COLUMNS, NationalSettings, run_national

runner = CliRunner()
#: Four small authorities of 1 to 57 areas; the City of London's DfE child protection figure
#: for 2024 is suppressed, so its cases are modelled from 2023's (the row's note says so).
FEW = ("Rutland", "Isles of Scilly", "E06000001", "City of London")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, mirror, dask_scheduler):
    """The handful on one worker (in this process, via the command line) and on two (the
    module's Dask cluster)."""
    tmp = tmp_path_factory.mktemp("national")
    one = runner.invoke(app, ["national", "--out", str(tmp / "one"), "--la", ",".join(FEW[:2]),
                              "--la", FEW[2], "--la", FEW[3], "--mirror", str(mirror),
                              "--workers", "1"])
    assert one.exit_code == 0, one.output
    summary = run_national(NationalSettings(out=tmp / "two", mirror=mirror, la=FEW),
                           scheduler=dask_scheduler, progress=False)
    return tmp, one.output, summary


def test_one_and_two_workers_write_identical_tables(runs):
    tmp, _, _ = runs
    for name in ("national.csv", "authorities/E06000001/areas.csv",
                 "authorities/E06000017/sites.csv", "instances/E06000001/areas.csv"):
        assert (tmp / "one" / name).read_bytes() == (tmp / "two" / name).read_bytes(), name
    table = pd.read_csv(tmp / "one" / "national.csv", dtype={"reason": str})
    assert table.columns.tolist() == NATIONAL_COLUMNS
    assert table["code"].tolist() == ["E06000001", "E06000017", "E06000053", "E09000001"]
    assert table["name"].tolist() == ["Hartlepool", "Rutland", "Isles of Scilly",
                                      "City of London"]


def test_rows_hold_the_plan_of_each_solved_folder(runs):
    tmp, _, _ = runs
    table = pd.read_csv(tmp / "one" / "national.csv").set_index("code")
    for code in ("E06000001", "E06000017"):
        sol = json.loads((tmp / "one" / "authorities" / code / "solution.json").read_text())
        row, totals = table.loc[code], sol["totals"]
        assert row["served_share"] == pytest.approx(totals["reach_share"], abs=1e-6)
        assert row["sites"] == totals["sites_open"] == len(sol["open_sites"])
        assert row["annual_cost"] == pytest.approx(totals["annual_cost"], abs=1)
        assert row["annual_cost"] <= row["budget"] + 1
        assert row["cost_per_child_served"] == pytest.approx(
            totals["annual_cost"] / totals["children_reached"], abs=0.1)
        # The default rule: £180 a year per child aged 0-4 living there.
        assert row["budget"] == round(180 * row["children"])
        assert sol["status"] in ("optimal", "feasible")
    # Rutland (26 areas) has no area in IMD deciles 1-2: no served share there.
    assert table.loc["E06000017", "children_deciles_1_2_share"] == 0
    assert pd.isna(table.loc["E06000017", "served_share_deciles_1_2"])
    assert 0 < table.loc["E06000001", "served_share_deciles_1_2"] <= 1


def test_suppressed_dfe_figures_fall_back_to_an_earlier_year_with_a_note(runs):
    tmp, output, _ = runs
    table = pd.read_csv(tmp / "one" / "national.csv", dtype={"note": str}).set_index("code")
    row = table.loc["E09000001"]
    assert row["status"] == "optimal" and row["areas"] == 6
    assert row["note"] == ("children in need and on protection plans modelled from DfE's 31 "
                           "March 2023 figures: those of 2024 are suppressed or missing")
    meta = json.loads((tmp / "one" / "instances" / "E09000001" / "prepare.json").read_text())
    assert meta["settings"]["year"] == 2023
    assert table.loc[["E06000001", "E06000017", "E06000053"], "note"].isna().all()
    text = " ".join(output.split())
    assert "4 authorities at £180 a year per child aged 0-4" in text and "0 failed" in text
    meta = json.loads((tmp / "one" / "national.json").read_text())
    assert meta["failed"] == 0 and meta["authorities"] == 4 and meta["vintage"] == "2025"


def test_a_failed_authority_is_a_row_with_its_reason_and_the_run_carries_on(
        tmp_path, mirror, monkeypatch):
    import optimiser.national as national

    real = national._prepare

    def prepare(code, s):
        if code == "E06000017":
            raise InputError("Rutland's file is broken", hint="mend it")
        if code == "E06000053":
            raise ZeroDivisionError("a bug")
        return real(code, s)

    monkeypatch.setattr(national, "_prepare", prepare)
    summary = run_national(NationalSettings(out=tmp_path / "out", mirror=mirror, la=FEW[:3]),
                           workers=1, progress=False)
    table = pd.read_csv(tmp_path / "out" / "national.csv").set_index("code")
    assert table["status"].to_dict() == {"E06000001": "optimal", "E06000017": "failed",
                                         "E06000053": "failed"}
    assert table.loc["E06000017", "reason"] == "Rutland's file is broken"
    assert table.loc["E06000053", "reason"] == "unexpected error (ZeroDivisionError: a bug)"
    assert pd.isna(table.loc["E06000017", "served_share"])
    assert not (tmp_path / "out" / "authorities" / "E06000017").exists()
    assert "2 failed" in summary and "Rutland (E06000017): Rutland's file is broken" in summary
    # Run again as it is: the failed ones are tried again, the solved one is not.
    monkeypatch.setattr(national, "_prepare", real)
    again = run_national(NationalSettings(out=tmp_path / "out", mirror=mirror, la=FEW[:3]),
                         workers=1, progress=False)
    assert "(1 already solved in out, 0 failed)" in " ".join(again.split())


def test_each_solved_folder_is_what_report_reads(runs):
    from optimiser.report.solved import read_solved

    tmp, _, _ = runs
    solved = read_solved(tmp / "one" / "authorities" / "E06000001")
    # The instance is found through a relative path: the folder can be moved as a whole.
    assert solved.instance_dir == (tmp / "one" / "instances" / "E06000001").resolve()
    assert solved.prepare["la"] == {"code": "E06000001", "name": "Hartlepool"}
    scenario = (tmp / "one" / "authorities" / "E06000001" / "scenario.yaml").read_text()
    assert "instance: ../instances/E06000001" in scenario and "gap: 0.005" in scenario


def test_map_and_chart_are_written_self_contained(runs):
    from optimiser.report.offline import external_references

    tmp, _, _ = runs
    page = (tmp / "one" / "map.html").read_text()
    assert external_references(page) == []
    assert "Hartlepool" in page and "Served share" in page
    assert "children 0-4 in IMD deciles 1-2" in page
    assert (tmp / "one" / "national.png").stat().st_size > 1000
    assert (tmp / "one" / "map.html").read_bytes() == (tmp / "two" / "map.html").read_bytes()


def test_resume_solves_only_what_is_not_solved_at_these_settings(runs, mirror):
    tmp, _, _ = runs
    out = tmp / "two"
    folder = out / "authorities" / "E06000017" / "solution.json"
    before = folder.stat().st_mtime_ns
    summary = run_national(NationalSettings(out=out, mirror=mirror, la=FEW), workers=1,
                           progress=False)
    assert "(4 already solved in two, 0 failed)" in " ".join(summary.split())
    assert folder.stat().st_mtime_ns == before  # not solved again
    assert json.loads((out / "national.json").read_text())["resumed"] == 4
    assert (out / "national.csv").read_bytes() == (tmp / "one" / "national.csv").read_bytes()
    # Another budget rule: the authority is solved again, at its new budget.
    run_national(NationalSettings(out=out, mirror=mirror, la=("Rutland",),
                                  budget_per_child=400), workers=1, progress=False)
    assert folder.stat().st_mtime_ns != before
    row = pd.read_csv(out / "national.csv").iloc[0]
    assert row["budget"] == 400 * row["children"]


def test_budgets_file_and_share_of_spend(tmp_path, mirror):
    budgets = tmp_path / "budgets.csv"
    budgets.write_text("name,spend\nRutland,500000\nE06000053,10000\n")
    run_national(NationalSettings(out=tmp_path / "out", mirror=mirror,
                                  la=("Rutland", "Isles of Scilly", "Hartlepool"),
                                  budgets=budgets, share_of_spend=0.5), workers=1,
                 progress=False)
    table = pd.read_csv(tmp_path / "out" / "national.csv").set_index("code")
    assert table.loc["E06000017", "budget"] == 250_000
    assert table.loc["E06000053", "budget"] == 5_000
    assert table.loc["E06000001", "status"] == "failed"
    assert table.loc["E06000001", "reason"] == "not in the budgets file budgets.csv"


@pytest.mark.parametrize(("args", "message"), [
    (["--budget-per-child", "-5"], "--budget-per-child -5 is not an amount of 0 or more"),
    (["--share-of-spend", "0.9"], "--share-of-spend needs each council's spend today, and the "
     "official data this tool reads holds no such figure"),
    (["--la", "Rutland,Narnia"], "--la 'Narnia' is not an upper-tier local authority"),
    (["--la", "Cherwell"], "is the district Cherwell (E07000177), not an upper-tier local "
     "authority"),
    (["--la", ","], "option --la: it names no authority"),
    (["--la", ""], "option --la: it names no authority"),
    (["--workers", "0"], "--workers 0 is not a number of workers from 1 to 512"),
    (["--gap", "2"], "--gap 2 is not a share from 0 to 1"),
    (["--budgets", "{budgets}"], "row 3, column 'code': --la 'E99999999' is not an "
     "upper-tier local authority"),
    (["--budgets", "{budgets}", "--budget-per-child", "100"], "two budget rules"),
])
def test_bad_inputs_are_one_error_and_exit_2(tmp_path, mirror, args, message):
    budgets = tmp_path / "b.csv"
    budgets.write_text("code,budget\nE06000017,300000\nE99999999,1\n")
    args = [a.replace("{budgets}", str(budgets)) for a in args]
    res = runner.invoke(app, ["national", "--out", str(tmp_path / "out"), "--mirror",
                              str(mirror), *args])
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split())
    assert "Traceback" not in res.output
    assert not (tmp_path / "out").exists()


def test_out_holding_other_files_or_the_mirror_is_refused(tmp_path, mirror):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="files that 'optimiser national' did not write"):
        run_national(NationalSettings(out=tmp_path / "mine", mirror=mirror, la=("Rutland",)),
                     workers=1, progress=False)
    with pytest.raises(InputError, match="which this command reads"):
        run_national(NationalSettings(out=mirror.parent, mirror=mirror, la=("Rutland",)),
                     workers=1, progress=False)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    inst = tmp_path / "inst"
    inst.mkdir()
    (inst / "prepare.json").write_text("{}")
    with pytest.raises(InputError, match=r"holds a prepared instance \(prepare.json\), not an "
                       "earlier national run"):
        run_national(NationalSettings(out=inst, mirror=mirror, la=("Rutland",)),
                     workers=1, progress=False)
    with pytest.raises(InputError, match=r"--out is inside the data (mirror|folder)"):
        run_national(NationalSettings(out=mirror / "nat", mirror=mirror, la=("Rutland",)),
                     workers=1, progress=False)
    assert sorted(p.name for p in inst.iterdir()) == ["prepare.json"]


def test_names_are_escaped_in_the_map(tmp_path, mirror):
    from optimiser.national import failed_row, national_table
    from optimiser.report.national import national_map

    table = national_table([failed_row("E06000017", "<script>alert(1)</script>",
                                       "a <b>bad</b> file")])
    national_map(table, "2019", mirror, tmp_path / "map.html")
    page = (tmp_path / "map.html").read_text()
    assert "<script>alert(1)" not in page and "<b>bad</b>" not in page
    # escaped for HTML (&lt;), then carried as JSON (& as \u0026): the tooltip shows text
    assert "\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;/script\\u0026gt;" in page
