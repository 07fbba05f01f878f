"""The source manifest, downloads into the cache (file:// and a local HTTP server, never the
network), checksums (manifest and trust on first use), conversion into canonical tables, and the
mirror check."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from test_convert import (
    gias_bytes,
    official_file7,
    official_lookup,
    official_pwc,
    write_sape_workbook,
)
from typer.testing import CliRunner

from optimiser import _download
from optimiser import loaders as L
from optimiser.cli import app
from optimiser.errors import DataSourceError
from optimiser.growth import TREND_FILE
from optimiser.paths import cache_dir
from optimiser.sources import (
    Source,
    check_tables,
    data_root,
    fetch_all,
    load_manifest,
    required_tables,
    verify_mirror,
)

OXON = "E10000025"
DAY = dt.date(2025, 1, 1)
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def manifest_2019() -> list:
    """The shipped manifest's sources of the 2019 vintage (IMD 2019 on LSOA 2011), which these
    tests were written for; the 2025 vintage's are tested in test_convert2025.py."""
    from optimiser.sources2025 import for_vintage

    return for_vintage(load_manifest(), "2019")


# --------------------------------------------------------------------------------------------
# The manifest
# --------------------------------------------------------------------------------------------


def test_manifest_entries_are_complete_and_honest(mirror: Path) -> None:
    sources = manifest_2019()
    assert len({s.id for s in sources}) == len(sources) == 11
    assert set(required_tables(sources)) == set(L.CANONICAL_FILES)
    sources_md = (mirror / "SOURCES.md").read_text()
    for s in sources:
        assert s.licence == "Open Government Licence v3.0"
        assert "Open Government Licence v3.0" in s.attribution
        assert s.landing_page.startswith("https://")
        # Every source has a direct address: fetch needs no manual step.
        assert s.url.startswith("https://"), s.id
        assert "opendata.arcgis.com" not in s.url  # the retired portal form
        assert s.sha256_official == "" or HEX64.match(s.sha256_official)
        if s.access == "arcgis":
            assert re.search(r"/arcgis/rest/services/\w+/FeatureServer/0/query$", s.url)
        for rel, digest in s.sha256_canonical.items():
            assert rel in s.canonical and HEX64.match(digest)
            # Every canonical checksum is the one SOURCES.md lists for that file.
            assert f"`{Path(rel).name}`" in sources_md and f"`{digest}`" in sources_md
            line = next(x for x in sources_md.splitlines() if f"`{digest}`" in x)
            assert Path(rel).name in line
        # Addresses documented in SOURCES.md are used as they are written there.
        if s.id == "ons_sape_mid2019":
            assert s.url in sources_md
    by_id = {s.id: s for s in sources}
    assert by_id["iod2019_file7"].url.startswith("https://assets.publishing.service.gov.uk/media/")
    assert by_id["gias_childrens_centres"].url.startswith(
        "https://ea-edubase-api-prod.azurewebsites.net/edubase/downloads/public/")
    assert {s.id for s in sources if s.access == "arcgis"} == {
        "ons_lsoa11_utla19", "ons_lsoa11_ward19", "ons_lsoa11_pwc", "ons_lsoa11_lsoa21"}
    # Known hashes where the file cannot change (DfE's copies at a fixed commit).
    for sid in ("dfe_cin_b1", "dfe_cpp_d5", "dfe_ons_population_0_17"):
        assert by_id[sid].sha256_official == next(iter(by_id[sid].sha256_canonical.values()))


def test_mirror_tables_match_manifest_checksums(mirror: Path) -> None:
    checks = verify_mirror(mirror, vintage="2019")
    required = [c for c in checks if not c.optional]
    assert len(required) == 9
    assert all(c.status == "checksum ok" for c in required)
    for c in required:
        digest = hashlib.sha256((mirror / c.table).read_bytes()).hexdigest()
        assert digest == c.expected_sha256
    optional = {c.source: c for c in checks if c.optional}
    assert optional["gias_childrens_centres"].status == "absent (optional)"
    # DfE's copy of the ONS 0-17 series (the multi-year trend) is the mirror's table.
    assert optional["dfe_ons_population_0_17"].status == "checksum ok"
    assert all(c.ok for c in optional.values())


def test_manifest_errors(tmp_path: Path) -> None:
    bad = tmp_path / "m.toml"
    bad.write_text('[[source]]\nid = "x"\ntitle = "t"\n')
    with pytest.raises(DataSourceError, match="source number 1 has no 'publisher'") as exc:
        load_manifest(bad)
    assert exc.value.file == str(bad) and exc.value.key == "source.publisher"
    text = (Path(__file__).parents[1] / "data" / "sources.toml").read_text()
    bad.write_text(text.replace('converter = "ons_ruc11"', 'converter = "ruc"'))
    with pytest.raises(DataSourceError, match="unknown converter 'ruc'"):
        load_manifest(bad)
    bad.write_text("[[source]\n")
    with pytest.raises(DataSourceError, match="not valid TOML"):
        load_manifest(bad)


# --------------------------------------------------------------------------------------------
# Official files in their published layouts (an Oxfordshire subset), served locally
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One official file per source, written in the publisher's layout."""
    out = tmp_path_factory.mktemp("served")
    manifest = {s.id: s.for_day(DAY) for s in load_manifest()}
    utla = pd.read_csv(mirror / L.UTLA_FILE, dtype=str, keep_default_na=False)
    ox = set(utla.loc[utla["UTLA19CD"] == OXON, "LSOA11CD"])

    def name(sid: str) -> Path:
        return out / manifest[sid].filename

    imd = pd.read_csv(mirror / L.IMD_FILE, dtype={"lsoa11cd": str})
    official_file7(imd[imd["lsoa11cd"].isin(ox)]).to_csv(name("iod2019_file7"), index=False)
    pop = pd.read_csv(mirror / L.POPULATION_FILE, dtype={"lsoa11cd": str})
    write_sape_workbook(name("ons_sape_mid2019"), pop[pop["lsoa11cd"].isin(ox)])
    name("dfe_cin_b1").write_bytes((mirror / L.CIN_FILE).read_bytes())
    name("dfe_cpp_d5").write_bytes((mirror / L.CPP_FILE).read_bytes())
    name("dfe_ons_population_0_17").write_bytes((mirror / TREND_FILE).read_bytes())
    for sid, rel in [("ons_lsoa11_utla19", L.UTLA_FILE), ("ons_lsoa11_ward19", L.WARD_FILE),
                     ("ons_ruc11", L.RUC_FILE), ("ons_lsoa11_lsoa21", L.LSOA21_FILE)]:
        df = pd.read_csv(mirror / rel, dtype=str, keep_default_na=False)
        official_lookup(df[df["LSOA11CD"].isin(ox)]).to_csv(name(sid), index=False)
    cen = pd.read_csv(mirror / L.CENTROIDS_FILE, dtype={"lsoa11cd": str})
    official_pwc(cen[cen["lsoa11cd"].isin(ox)]).to_csv(name("ons_lsoa11_pwc"), index=False)
    (out / "edubasealldata{date}.csv".replace("{date}", DAY.strftime("%Y%m%d"))).write_bytes(
        gias_bytes())
    return out


def local(sources: list[Source], base: str) -> list[Source]:
    """The manifest with every address pointing at ``base`` (file:// or http://127.0.0.1), each
    file in its portal-download layout (ArcGIS lookups as the portal's CSV)."""
    return [dataclasses.replace(s, url=f"{base}/{s.filename}", access="file") for s in sources]


@pytest.fixture(autouse=True)
def _no_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Failures here are meant: no second try (tests/test_fetch_official.py tests retries)."""
    monkeypatch.setattr(_download, "RETRIES", 0)


@contextlib.contextmanager
def http_server(folder: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def fetched_sources(cache: Path) -> dict[str, dict]:
    doc = json.loads((cache / "canonical" / "FETCHED.json").read_text())
    return {s["id"]: s for s in doc["sources"]}


def test_fetch_from_local_files_converts_and_loads(served: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    lines: list[str] = []
    root = fetch_all(manifest=local(manifest_2019(), served.as_uri()), cache=cache, day=DAY,
                     progress=False, log=lines.append)
    assert root == cache / "canonical"
    assert len(lines) == 11
    # The converted tables load and hold Oxfordshire's real figures.
    assert len(L.load_imd(root)) == 407
    pop = L.load_population(root)
    assert (len(pop), pop["total"].sum(), pop["age_0_4"].sum()) == (407, 691_667, 39_432)
    utla = L.load_utla_lookup(root)
    assert (utla["utla_code"] == OXON).sum() == 407
    assert L.load_rural_urban(root)["rural"].sum() == 138
    la = L.load_la_cin_cpp(root)
    row = la[(la["la_code"] == OXON) & (la["year"] == 2019)].iloc[0]
    assert (row["cin"], row["cpp"]) == (4511, 592)
    assert len(L.load_centroids(root)) == 407
    assert len(L.load_childrens_centres(root)) == 4
    # Provenance: DfE tables are the published files, so they equal the reference mirror's.
    prov = fetched_sources(cache)
    assert prov["dfe_cin_b1"]["tables"][L.CIN_FILE]["same_as_reference_mirror"] is True
    assert prov["iod2019_file7"]["tables"][L.IMD_FILE]["same_as_reference_mirror"] is False
    assert prov["gias_childrens_centres"]["tables"][L.CHILDRENS_CENTRES_FILE][
        "same_as_reference_mirror"] is None
    # Trust on first use: the checksum of every download is recorded.
    records = json.loads((cache / "official" / "checksums.json").read_text())
    # (not for the three DfE tables, whose checksums the manifest knows)
    assert len(records) == 8
    for s in manifest_2019():
        s = s.for_day(DAY)
        if s.sha256_official:
            assert s.filename not in records
            continue
        digest = hashlib.sha256((served / s.filename).read_bytes()).hexdigest()
        assert records[s.filename]["sha256"] == digest


def test_fetch_downloads_once_and_checks_later_downloads(served: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    copy = tmp_path / "served"
    copy.mkdir()
    for f in served.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    sources = local(manifest_2019(), copy.as_uri())
    root = fetch_all(manifest=sources, cache=cache, day=DAY, progress=False)
    before = (root / L.IMD_FILE).read_bytes()
    # Once complete, no download is attempted: the served files can disappear.
    for f in copy.iterdir():
        f.unlink()
    assert fetch_all(manifest=sources, cache=cache, day=DAY, progress=False) == root
    # A changed official file on a forced download differs from its first-use checksum.
    imd_src = next(s for s in sources if s.id == "iod2019_file7")
    for f in served.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    (copy / imd_src.filename).write_text(
        (served / imd_src.filename).read_text().replace("Oxford 018B", "Oxford 018Z"))
    with pytest.raises(DataSourceError, match=r"differs from .*recorded when it was first") as exc:
        fetch_all(manifest=sources, cache=cache, day=DAY, force=True, progress=False)
    assert exc.value.file.endswith(imd_src.filename)
    assert "checksums.json" in exc.value.hint
    # No partial output: the canonical tables are those of the first fetch.
    assert (root / L.IMD_FILE).read_bytes() == before


def test_fetch_over_http_with_manifest_checksum(served: Path, tmp_path: Path) -> None:
    sources = manifest_2019()
    imd = next(s for s in sources if s.id == "iod2019_file7")
    digest = hashlib.sha256((served / imd.filename).read_bytes()).hexdigest()
    with http_server(served) as base:
        good = [dataclasses.replace(s, sha256_official=digest) if s.id == imd.id else s
                for s in local(sources, base)]
        root = fetch_all(manifest=good, cache=tmp_path / "a", day=DAY, progress=True)
        assert len(L.load_imd(root)) == 407
        wrong = [dataclasses.replace(s, sha256_official="0" * 64) if s.id == imd.id else s
                 for s in local(sources, base)]
        with pytest.raises(DataSourceError, match=f"sha256 is {digest}, but the manifest"):
            fetch_all(manifest=wrong, cache=tmp_path / "b", day=DAY, progress=False)
        missing = [dataclasses.replace(s, url=f"{base}/no-such-file.csv") if s.id == imd.id
                   else s for s in local(sources, base)]
        with pytest.raises(DataSourceError) as exc:
            fetch_all(manifest=missing, cache=tmp_path / "c", day=DAY, progress=False)
    assert f"could not download {base}/no-such-file.csv" in exc.value.problem
    assert "--mirror" in exc.value.hint
    assert not (tmp_path / "c" / "canonical").exists()


def test_network_failure_names_url_and_suggests_mirror(served: Path, tmp_path: Path) -> None:
    with http_server(served) as base:
        pass  # the port is closed again: connection refused
    sources = local(manifest_2019(), base)
    with pytest.raises(DataSourceError) as exc:
        fetch_all(manifest=sources, cache=tmp_path, day=DAY, progress=False)
    assert f"could not download {base}/" in exc.value.problem
    assert "--mirror" in exc.value.hint and "OPTIMISER_DATA_MIRROR" in exc.value.hint


def test_connection_cut_mid_download_is_one_clear_error(tmp_path: Path) -> None:
    # The server promises 1,000 bytes, sends 10 and hangs up: http.client raises IncompleteRead,
    # which is not an OSError.
    class Truncating(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Truncating)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(DataSourceError) as exc:
            fetch_all(manifest=local(manifest_2019(), base), cache=tmp_path, day=DAY,
                      progress=False)
    finally:
        server.shutdown()
        server.server_close()
    assert f"could not download {base}/" in exc.value.problem
    assert "--mirror" in exc.value.hint
    assert not [p for p in (tmp_path / "official").iterdir() if p.name != "checksums.json"]


def test_unknown_address_then_file_saved_by_hand(served: Path, tmp_path: Path) -> None:
    sources = local(manifest_2019(), served.as_uri())
    sources = [dataclasses.replace(s, url="") if s.id == "ons_lsoa11_pwc" else s
               for s in sources]
    pwc = next(s for s in sources if s.id == "ons_lsoa11_pwc")
    with pytest.raises(DataSourceError, match="no direct download address") as exc:
        fetch_all(manifest=sources, cache=tmp_path, day=DAY, progress=False)
    assert exc.value.problem.startswith("1 official file(s) could not be obtained")
    assert f"landing page: {pwc.landing_page}" in exc.value.problem
    assert f"save it as: {tmp_path / 'official' / pwc.filename}" in exc.value.problem
    assert exc.value.file == str(tmp_path / "official" / pwc.filename)
    (tmp_path / "official" / pwc.filename).write_bytes((served / pwc.filename).read_bytes())
    root = fetch_all(manifest=sources, cache=tmp_path, day=DAY, progress=False)
    assert len(L.load_centroids(root)) == 407


def test_optional_source_failure_is_skipped(served: Path, tmp_path: Path) -> None:
    sources = [dataclasses.replace(s, url=s.url.replace("edubasealldata", "missing"))
               for s in local(manifest_2019(), served.as_uri())]
    lines: list[str] = []
    root = fetch_all(manifest=sources, cache=tmp_path, day=DAY, progress=False, log=lines.append)
    assert any(x.startswith("skipped optional source gias_childrens_centres") for x in lines)
    assert L.load_childrens_centres(root) is None
    assert len(L.load_population(root)) == 407


# --------------------------------------------------------------------------------------------
# Mirrors and the data root
# --------------------------------------------------------------------------------------------


def linked_mirror(mirror: Path, dest: Path, skip: str | None = None) -> Path:
    for rel in L.CANONICAL_FILES:
        if rel == skip:
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).symlink_to(mirror / rel)
    return dest


def test_mirror_missing_table(mirror: Path, tmp_path: Path) -> None:
    root = linked_mirror(mirror, tmp_path, skip=L.RUC_FILE)
    with pytest.raises(DataSourceError, match="1 canonical table") as exc:
        fetch_all(mirror=root, vintage="2019")
    assert exc.value.file == str(root / L.RUC_FILE)


def test_mirror_edited_table(mirror: Path, tmp_path: Path) -> None:
    root = linked_mirror(mirror, tmp_path, skip=L.CPP_FILE)
    data = (mirror / L.CPP_FILE).read_bytes().replace(b",592,", b",593,", 1)
    (root / L.CPP_FILE).write_bytes(data)
    with pytest.raises(DataSourceError, match="differs from the manifest's 9b2d498642b1") as exc:
        fetch_all(mirror=root, vintage="2019")
    assert exc.value.file == str(root / L.CPP_FILE)
    statuses = {c.table: c.status for c in check_tables(root, vintage="2019")}
    assert statuses[L.CPP_FILE] == "CHECKSUM DIFFERS"
    assert statuses[L.IMD_FILE] == "checksum ok"


def test_data_root_order(mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTIMISER_DATA_MIRROR", str(mirror))
    assert data_root() == mirror
    assert data_root(tmp_path) == tmp_path
    with pytest.raises(DataSourceError, match="mirror folder does not exist"):
        data_root(tmp_path / "nope")
    monkeypatch.delenv("OPTIMISER_DATA_MIRROR")
    assert data_root(fetch=False) == cache_dir() / "canonical"  # no download asked for


def test_cli_data_fetch_with_mirror(mirror: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["data", "fetch", "--mirror", str(mirror), "--vintage", "2019"])
    assert result.exit_code == 0, result.output
    assert result.output.count("checksum ok") == 10  # 9 required, and the ONS 0-17 series
    assert "no download" in result.output
    root = linked_mirror(mirror, tmp_path, skip=L.IMD_FILE)
    result = runner.invoke(app, ["data", "fetch", "--mirror", str(root), "--vintage", "2019"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "canonical table(s) are missing" in result.output


def test_cli_data_list() -> None:
    result = CliRunner().invoke(app, ["data", "list", "--vintage", "2019"])
    assert result.exit_code == 0
    assert result.output.count("Open Government Licence v3.0") == 11
    assert "gias_childrens_centres (optional)" in result.output


def test_damaged_official_file_is_one_clear_error(served: Path, tmp_path: Path) -> None:
    sources = local(manifest_2019(), served.as_uri())
    sape = next(s for s in sources if s.id == "ons_sape_mid2019")
    (tmp_path / "official").mkdir()
    (tmp_path / "official" / sape.filename).write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataSourceError, match="'ons_sape_mid2019' could not be converted") as exc:
        fetch_all(manifest=sources, cache=tmp_path, day=DAY, progress=False)
    assert exc.value.file == str(tmp_path / "official" / sape.filename)
    assert "Mid-2019 Persons" in exc.value.hint and "--force" in exc.value.hint
