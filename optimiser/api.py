"""The notebook API: the whole pipeline with DataFrames in and out, and no folders unless asked.

>>> import optimiser as opt                                                  # doctest: +SKIP
>>> inst = opt.prepare("Oxfordshire", age_group="0-19")                      # doctest: +SKIP
>>> plan = opt.solve(inst, {"budget": 6_000_000})                            # doctest: +SKIP
>>> plan.areas.head(); plan.sites.head(); plan.localities                    # doctest: +SKIP
>>> plan.to_geodataframe().explore(column="served_share")                    # doctest: +SKIP
>>> opt.report(plan, "pack/")                                                # doctest: +SKIP

Each step is the command line's, run in memory: :func:`prepare` is ``optimiser prepare``,
:func:`solve` is ``optimiser solve`` and :func:`report` is ``optimiser report``, so the same
inputs give the same numbers. The council's name, the data sources and whether the CIN/CPP
figures are modelled travel with the objects (:attr:`Instance.metadata`, ``prepare.json``), so
a pack made from a notebook is titled and flagged as one made from folders.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from optimiser.errors import OptimiserError
from optimiser.instance import Instance, read_instance, write_instance
from optimiser.report.disclosure import DEFAULT_THRESHOLD
from optimiser.scenario import Scenario, load_scenario, parse_scenario
from optimiser.solution import Solution

__all__ = ["Plan", "prepare", "report", "solve"]


def _as_file(value: str | Path | pd.DataFrame | None, kind: str, folder: Path) -> Path | None:
    """A council file given as a path, or a DataFrame saved as CSV (messages then give the
    frame's rows as a spreadsheet numbers them: the first row of data is row 2)."""
    if value is None or isinstance(value, (str, Path)):
        return None if value is None else Path(value)
    if not isinstance(value, pd.DataFrame):
        raise OptimiserError(f"{kind} must be a file path or a pandas DataFrame, not "
                             f"{type(value).__name__}", key=kind)
    path = folder / f"{kind}_dataframe.csv"
    value.to_csv(path, index=False)
    return path


#: How a message names a table the caller passed as a DataFrame (it was saved to a temporary
#: CSV file to be read as the command line reads files; that file's name means nothing).
_FRAME_NAMES = {
    "sites_dataframe.csv": "the sites DataFrame you passed",
    "cases_dataframe.csv": "the cases DataFrame you passed",
    "localities_dataframe.csv": "the localities DataFrame you passed",
    "areas.csv": "the instance's areas table",
    "sites.csv": "the instance's sites table",
    "travel.csv": "the instance's travel table",
}


@contextlib.contextmanager
def _frames_named(folder: Path) -> Iterator[None]:
    """Errors about files in the temporary ``folder`` name the table the caller passed, and
    say how rows are numbered, instead of the temporary file."""
    try:
        yield
    except OptimiserError as exc:
        where = str(folder)
        if exc.file is not None and exc.file.startswith(where):
            name = _FRAME_NAMES.get(Path(exc.file).name, "the table you passed")
            exc.file = name
            if exc.row is not None:
                exc.hint = ((exc.hint + "; ") if exc.hint else "") + (
                    f"row {exc.row} is the DataFrame's .iloc[{exc.row - 2}] (rows are numbered "
                    "as a spreadsheet does, its first row being row 2)")
        for attr in ("problem", "hint"):
            text = getattr(exc, attr)
            if text and where in text:
                setattr(exc, attr, text.replace(where + "/", "").replace(where, "memory"))
        exc.args = (exc.message,)
        raise


def _instance(value: Instance | str | Path) -> Instance:
    """The instance to solve: an :class:`Instance`, or a folder ``optimiser prepare`` wrote.
    An instance built or edited in memory is checked as a folder is (row and column named)."""
    if isinstance(value, (str, Path)):
        folder = Path(value)
        if (folder / "solution.json").is_file():
            raise OptimiserError(
                "this folder is a solved folder (it holds solution.json), not an instance",
                file=folder, hint="give the instance folder 'optimiser prepare' wrote (the "
                "solved folder's solution.json names it), or opt.prepare(...)")
        return read_instance(folder)
    if not isinstance(value, Instance):
        raise OptimiserError(
            f"the instance must be an Instance (from opt.prepare) or an instance folder, not "
            f"{type(value).__name__}", hint="e.g. opt.solve(opt.prepare('Oxfordshire'), "
            "{'budget': 6e6}) or opt.solve('instance/', {'budget': 6e6})")
    with tempfile.TemporaryDirectory(prefix="optimiser-instance-") as tmp, \
            _frames_named(Path(tmp)):
        write_instance(value, tmp)
        checked = read_instance(tmp)
    return replace(checked, folder=value.folder, metadata=value.metadata)


def prepare(la: str, *, age_group: str = "0-4", mirror: str | Path | None = None,
            sites: str | Path | pd.DataFrame | None = None,
            cases: str | Path | pd.DataFrame | None = None,
            localities: str | Path | pd.DataFrame | None = None,
            weights: str | None = None, standardise: str = "z", year: int | None = None,
            boundaries: str | Path | None = None, candidates: str | None = None,
            sheet: str | tuple[str, ...] = (), vintage: str | None = None,
            out: str | Path | None = None) -> Instance:
    """``optimiser prepare`` in memory: the checked instance for one council.

    Parameters are the command's options (see ``optimiser prepare --help``); the council's
    ``sites``, ``cases`` and ``localities`` may be DataFrames as well as CSV or Excel files.
    ``out`` also writes the instance folder there. ``vintage`` (``"2025"``, the default, or
    ``"2019"``) and ``year`` (the DfE year; default the vintage's latest) as on the command line.

    Returns
    -------
    Instance
        ``areas`` and ``sites`` DataFrames, ``metadata`` = ``prepare.json``.
    """
    from optimiser.prepare import PrepareSettings, build_instance, write_prepared

    with tempfile.TemporaryDirectory(prefix="optimiser-prepare-") as tmp:
        folder = Path(tmp)
        settings = PrepareSettings(
            la=la, mirror=Path(mirror) if mirror is not None else None,
            sites=_as_file(sites, "sites", folder), cases=_as_file(cases, "cases", folder),
            localities=_as_file(localities, "localities", folder), age_group=age_group,
            weights=weights, standardise=standardise, year=year,
            boundaries=Path(boundaries) if boundaries is not None else None,
            candidates=candidates, sheet=(sheet,) if isinstance(sheet, str) else tuple(sheet),
            vintage=vintage)
        with _frames_named(folder):
            built = build_instance(settings)
            # Read back as 'solve' reads a folder, so a notebook and the command line agree.
            inst = read_instance(write_prepared(built, folder / "instance"))
    if out is not None:
        write_prepared(built, out)
    return replace(inst, folder=Path(out).resolve() if out is not None else None,
                   metadata=built.meta)


def solve(instance: Instance | str | Path,
          scenario: Mapping[str, Any] | Scenario | str | Path) -> Plan:
    """``optimiser solve`` in memory.

    Parameters
    ----------
    instance
        From :func:`prepare` or :func:`optimiser.instance.read_instance`, or the path of an
        instance folder. Tables edited in memory are checked as a folder's files are.
    scenario
        The scenario's keys as a dict (``{"budget": 6e6, "objective": "max_reach"}``; the
        ``instance`` key is not needed), a :class:`~optimiser.scenario.Scenario`, or a scenario
        YAML file (its ``instance`` is replaced by ``instance``).

    Returns
    -------
    Plan
        The solution; ``plan.status`` says whether there is a plan (e.g. ``infeasible``).
    """
    from optimiser.solve import solve_scenario

    instance = _instance(instance)
    if isinstance(scenario, Scenario):
        scen = scenario
    elif isinstance(scenario, (str, Path)):
        scen = load_scenario(scenario, check_instance=False)
    elif isinstance(scenario, Mapping):
        data = dict(scenario)
        data.setdefault("instance", str(instance.folder) if instance.folder else ".")
        scen = parse_scenario(data)
    else:
        raise OptimiserError(f"the scenario must be a dict, a Scenario or a file, not "
                             f"{type(scenario).__name__}")
    return Plan(solution=solve_scenario(scen, instance), instance=instance, scenario=scen)


@dataclass
class Plan:
    """A solved scenario in memory: the tables as DataFrames, the map layers, the summary."""

    solution: Solution
    instance: Instance
    scenario: Scenario

    def _table(self, name: str) -> pd.DataFrame:
        table = getattr(self.solution, f"{name}_table")
        if table is None:
            why = "; ".join(self.solution.summary.get("explanation") or [])
            raise OptimiserError(f"the scenario has no plan (solver status '{self.status}')"
                                 + (f": {why}" if why else ""),
                                 hint="change the scenario (budget, constraints) and solve again")
        return table

    @property
    def areas(self) -> pd.DataFrame:
        """One row per area: reach, the serving site, travel minutes, change against today."""
        return self._table("areas")

    @property
    def sites(self) -> pd.DataFrame:
        """One row per site: open or not, the decision, children served, utilisation."""
        return self._table("sites")

    @property
    def localities(self) -> pd.DataFrame:
        """One row per locality: need reached, sites, outreach workers, travel."""
        return self._table("localities")

    @property
    def summary(self) -> dict[str, Any]:
        """``solution.json``: status, totals, open sites, change against today, settings."""
        return self.solution.summary

    @property
    def status(self) -> str:
        return str(self.solution.summary.get("status"))

    @property
    def la_name(self) -> str:
        """The council (from ``prepare.json``), or ``"the county"`` when unknown."""
        return str((self.instance.metadata.get("la") or {}).get("name") or "the county")

    @property
    def title(self) -> str:
        return f"{self.la_name}: {self.scenario.name}"

    @property
    def sources(self) -> list[dict[str, Any]]:
        """The official tables the instance was built from (title, vintage, licence, sha256)."""
        return list(self.instance.metadata.get("sources") or [])

    @property
    def modelled_cases(self) -> bool:
        """True when the CIN/CPP figures are modelled from DfE totals, not the council's."""
        return bool(self.instance.metadata.get("modelled_cases", False))

    def __repr__(self) -> str:
        t = self.solution.summary.get("totals") or {}
        reach = f", reach {100 * t['reach_share']:.1f}%" if t else ""
        return f"<Plan {self.title!r}: {self.status}{reach}>"

    def to_geodataframe(self, layer: str = "areas", threshold: int = DEFAULT_THRESHOLD):
        """A layer of ``plan.gpkg`` as a GeoDataFrame (EPSG:27700): ``areas``, ``sites`` or
        ``localities``, with the published tables' disclosure rules (``threshold``)."""
        from optimiser.report.gpkg import LAYERS, plan_layers
        from optimiser.report.solved import read_solved

        if layer not in LAYERS:
            raise OptimiserError(f"there is no layer '{layer}'",
                                 hint=f"use one of: {', '.join(LAYERS)}")
        self._table("areas")
        with tempfile.TemporaryDirectory(prefix="optimiser-plan-") as tmp:
            solved = read_solved(self._write_folders(Path(tmp), gpkg=False))
            return plan_layers(solved, threshold)[layer]

    def write(self, out: str | Path) -> Path:
        """Write the solved folder (as ``optimiser solve --out``), ``plan.gpkg`` included.

        An instance built in memory is written beside it (``<out>-instance``) so the folder
        names the instance it was solved on, as one from the command line does.
        """
        out = Path(out)
        return self._write_folders(out.parent, gpkg=True, solved_name=out.name)

    def _write_folders(self, base: Path, *, gpkg: bool, solved_name: str = "solved") -> Path:
        inst_dir = self.instance.folder
        if inst_dir is None or not (inst_dir / "areas.csv").is_file():
            inst_dir = base / f"{solved_name}-instance"
            _write_instance_folder(self.instance, inst_dir)
        sol = replace(self.solution, summary={**self.solution.summary,
                                              "instance": str(inst_dir.resolve())})
        return sol.write(base / solved_name, gpkg=gpkg)


def _write_instance_folder(instance: Instance, folder: Path) -> None:
    from optimiser.files import atomic_output_dir, write_json

    with atomic_output_dir(folder, instance=True) as tmp:
        write_instance(instance, tmp)
        if instance.metadata:
            write_json(tmp / "prepare.json", instance.metadata)


def report(plan: Plan, out: str | Path, *, threshold: int = DEFAULT_THRESHOLD,
           self_contained: bool = True) -> Path:
    """``optimiser report``: the consultation pack (map, tables, ``plan.gpkg``) in ``out``.

    Returns
    -------
    pathlib.Path
        The pack folder (open its ``index.html``).
    """
    from optimiser.report.pack import build_pack

    if not isinstance(plan, Plan):
        raise OptimiserError(f"report takes a Plan (from opt.solve), not {type(plan).__name__}",
                             hint="plan = opt.solve(inst, {...}); opt.report(plan, 'pack/')")
    plan._table("areas")
    with tempfile.TemporaryDirectory(prefix="optimiser-report-") as tmp:
        solved = plan._write_folders(Path(tmp), gpkg=False)
        build_pack(solved, out, threshold=threshold, self_contained=self_contained)
    return Path(out)
