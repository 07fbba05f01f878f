"""``plan.gpkg``: every solved folder and every pack has the plan for QGIS, in EPSG:27700, with
the published tables' disclosure rules."""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from report_fixtures import make_solved
from test_solve import base_yaml, scenario_file, solve_cli

from optimiser.instance import write_instance
from optimiser.model.synthetic import synthetic_instance
from optimiser.report.gpkg import GPKG_NAME, LAYERS
from optimiser.report.pack import build_pack


def layers(path: Path) -> dict[str, gpd.GeoDataFrame]:
    assert [name for name, _kind in pyogrio.list_layers(path)] == list(LAYERS)
    return {name: gpd.read_file(path, layer=name) for name in LAYERS}


def test_solved_folder_has_the_plan(tmp_path: Path) -> None:
    inst = tmp_path / "instance"
    inst.mkdir()
    write_instance(synthetic_instance(60, seed=3), inst)
    scen = scenario_file(tmp_path, base_yaml(inst, model="service"))
    assert solve_cli(scen, tmp_path / "out").exit_code == 0
    out = tmp_path / "out"
    got = layers(out / GPKG_NAME)
    for name, layer in got.items():
        assert layer.crs.to_epsg() == 27700, name
    areas = pd.read_csv(out / "areas.csv", dtype={"area_id": str})
    sites = pd.read_csv(out / "sites.csv", dtype={"site_id": str})
    localities = pd.read_csv(out / "localities.csv")
    assert len(got["areas"]) == len(areas) == 60
    assert len(got["sites"]) == len(sites)
    assert sorted(got["localities"]["locality"]) == sorted(localities["locality"])
    assert set(got["areas"].geom_type) == {"Polygon"}  # circles: the ids are not LSOA codes
    assert set(got["sites"].geom_type) == {"Point"}
    # Sites sit where sites.csv puts them, with the solve's decisions.
    s = got["sites"].set_index("site_id").loc[sites["site_id"]]
    assert (s.geometry.x.to_numpy() == sites["x"].to_numpy()).all()
    assert (s["open"].to_numpy() == sites["open"].to_numpy()).all()
    assert s["capacity"].fillna(-1).tolist() == sites["capacity"].fillna(-1).tolist()
    # Areas: served share = children served / children; the nearest centre by name.
    a = got["areas"].set_index("area_id").loc[areas["area_id"]]
    share = (areas["children_served"] / areas["population"]).round(4).to_numpy()
    assert (abs(a["served_share"].to_numpy() - share) < 1e-9).all()
    names = dict(zip(sites["site_id"], sites["name"], strict=True))
    assert a["nearest_centre"].tolist() == [names.get(x, "") if isinstance(x, str) else ""
                                           for x in areas["site_id"]]
    assert not {"cin", "cpp"} & set(a.columns)  # no per-area counts of children in need


@pytest.mark.parametrize("modelled", [True, False])
def test_pack_plan_follows_the_published_tables(tmp_path: Path, modelled: bool) -> None:
    solved = make_solved(tmp_path, modelled=modelled)
    build_pack(solved, tmp_path / "pack")
    got = layers(tmp_path / "pack" / GPKG_NAME)
    assert [g.crs.to_epsg() for g in got.values()] == [27700] * 3
    pack_loc = pd.read_csv(tmp_path / "pack" / "localities.csv", dtype=str,
                           keep_default_na=False)
    pack_sites = pd.read_csv(tmp_path / "pack" / "sites.csv", dtype={"site_id": str})
    solved_areas = pd.read_csv(solved / "areas.csv")
    assert len(got["areas"]) == len(solved_areas) == 12
    assert len(got["sites"]) == len(pack_sites) == 5
    assert len(got["localities"]) == len(pack_loc) - 1 == 3  # no county total row
    assert set(got["areas"].geom_type) == {"Polygon"}  # LSOA boundaries
    # CIN/CPP per locality as the published CSV shows them, as numbers: null and flagged
    # where the CSV has 'c'.
    loc = got["localities"].set_index("locality")
    pub = pack_loc.set_index("locality")
    for col in ("cin", "cpp"):
        assert pd.api.types.is_integer_dtype(loc[col]) or pd.api.types.is_float_dtype(loc[col])
        shown = pub.loc[loc.index, col]
        assert loc[f"{col}_suppressed"].tolist() == (shown == "c").tolist()
        assert loc[col].isna().tolist() == (shown == "c").tolist()
        assert loc.loc[shown != "c", col].astype(int).tolist() == \
            shown[shown != "c"].astype(int).tolist()
    assert (loc["cin_suppressed"] | loc["cpp_suppressed"]).any()
    descriptions = _descriptions(tmp_path / "pack" / GPKG_NAME)
    assert "null where the published tables show 'c'" in descriptions["localities"]
    # The exact need of an area is shown only where the published tables show it.
    assert ("need" in got["areas"].columns) is modelled
    assert got["areas"]["need_band"].notna().all()
    sites = got["sites"].set_index("site_id").loc[pack_sites["site_id"]]
    assert sites["decision"].tolist() == pack_sites["decision"].tolist()
    assert sites["need_weighted_served"].tolist() == pack_sites["demand_served"].round(1).tolist()


def _descriptions(path: Path) -> dict[str, str]:
    import sqlite3

    with sqlite3.connect(path) as db:
        return dict(db.execute("select table_name, description from gpkg_contents"))


def test_plan_bytes_are_reproducible(tmp_path: Path) -> None:
    # (A whole pack built twice is compared file by file in test_report_pack.py.)
    from optimiser.report.gpkg import plan_layers, write_gpkg
    from optimiser.report.solved import read_solved

    layers_ = plan_layers(read_solved(make_solved(tmp_path)))
    paths = [write_gpkg(tmp_path / f"{k}.gpkg", layers_) for k in "ab"]
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    assert digest[0] == digest[1]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_a_lost_boundaries_file_gives_circles_not_a_failed_solve(tmp_path: Path) -> None:
    import json

    from optimiser.report.gpkg import FALLBACK_RADIUS_M, plan_layers
    from optimiser.report.solved import read_solved

    solved = make_solved(tmp_path)
    prep = tmp_path / "instance" / "prepare.json"
    meta = json.loads(prep.read_text())
    meta["boundaries"] = {"source": "user", "file": str(tmp_path / "moved" / "lsoa.gpkg")}
    prep.write_text(json.dumps(meta))
    areas = plan_layers(read_solved(solved))["areas"]
    assert len(areas) == 12
    circle = 3.14159 * FALLBACK_RADIUS_M ** 2
    assert (abs(areas.area / circle - 1) < 0.01).all()


def test_a_disk_filling_while_the_geopackage_is_written_is_an_os_error(tmp_path, monkeypatch):
    """GDAL reports a full disk as a failed SQLite statement: it reaches the output folder's
    writer as ENOSPC (one clear message there), and no temporary file is left."""
    import errno

    import geopandas as gpd
    import pyogrio.errors
    from shapely.geometry import Point

    from optimiser.report import gpkg

    def full(*args, **kwargs):
        raise pyogrio.errors.FeatureError("sqlite3_exec(INSERT INTO gpkg_contents) failed")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", full)
    monkeypatch.setattr(gpkg, "_disk_full", lambda folder: True)
    layer = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs=27700)
    with pytest.raises(OSError) as err:
        gpkg.write_gpkg(tmp_path / "plan.gpkg", {"sites": layer})
    assert err.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(gpkg, "_disk_full", lambda folder: False)
    with pytest.raises(pyogrio.errors.FeatureError):  # not a full disk: a bug, kept as it is
        gpkg.write_gpkg(tmp_path / "plan.gpkg", {"sites": layer})
