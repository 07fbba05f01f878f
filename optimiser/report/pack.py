"""The consultation pack: one folder that is safe to publish, and the analyst's internal tables.

``PACK_DIR`` (everything in it may be published):

==============================  ==============================================================
``index.html``                  the option in plain English, the method, the map, locality
                                tables, charts, "what changes in my area", equality impact
``map.html``                    the interactive map (self-contained unless ``--cdn``)
``localities.csv`` / ``.html``  the locality table after disclosure control
``consultation_tables.xlsx``    sheets Localities, Areas changing, Sites, Notes
``areas_changing.csv``          every area that gains or loses access, by locality
``sites.csv``                   every site and what the option does with it
``equality_by_imd_decile.csv``  reach before and after by IMD decile, areas gaining and losing
``options_compared.csv``        the options side by side (when a ``compare.csv`` exists)
``charts/*.svg``                reach by IMD decile; reach against budget (when a sweep exists)
``pack.json``                   what was made, from what, with which settings
==============================  ==============================================================

``PACK_DIR-internal`` (beside it; **not for publication**): the locality table without
disclosure control, for the analyst's own checks.

Both folders are written atomically (all or nothing) and deterministically.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from optimiser.errors import InputError
from optimiser.files import atomic_output_dir, write_bytes, write_csv, write_text
from optimiser.model.words import plural as _n
from optimiser.report import charts
from optimiser.report.disclosure import DEFAULT_THRESHOLD
from optimiser.report.gpkg import GPKG_NAME, write_plan
from optimiser.report.locality_table import (
    COLUMNS,
    SUPPRESSED_COLUMNS,
    TOTAL,
    csv_table,
    display_table,
    format_value,
    has_funding,
    locality_table,
    publish_table,
)
from optimiser.report.map import (
    CHANGE_LABELS,
    DECISION_LABELS,
    REACH_LABELS,
    TO_OUTREACH,
    AreaShapes,
    area_need_banded,
    area_shapes,
    build_map,
    map_counts,
    need_band,
    replaced_by_outreach,
)
from optimiser.report.pdf import pdf_images, render_pdf
from optimiser.report.solved import Solved, read_options, read_solved, served_of_capacity
from optimiser.report.static_map import static_map_png
from optimiser.report.xlsx import SHEETS, build_workbook
from optimiser.report.years import years_context

TEMPLATES = Path(__file__).parent / "templates"
#: What a pack built with --no-disclosure-control says, on its front page and in its notes.
NO_DISCLOSURE_CONTROL = ("OFF: this pack was built with --no-disclosure-control. Counts of "
                         "children in need and on protection plans are shown exactly, and small "
                         "counts could identify families. Do not publish it.")
XLSX_NAME = "consultation_tables.xlsx"
OGL = ("Contains public sector information licensed under the Open Government Licence v3.0",
       "Contains OS data © Crown copyright and database right")
NOT_FOR_PUBLICATION = "NOT FOR PUBLICATION"


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["pct"] = lambda v: format_value(v, "percent")
    env.filters["money"] = lambda v: format_value(v, "money")
    env.filters["count"] = lambda v: format_value(v, "count")
    env.filters["num1"] = lambda v: format_value(v, "decimal1")
    env.filters["num2"] = lambda v: format_value(v, "decimal2")
    return env


def _safe_csv_text(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Names from input files that a spreadsheet would run as a formula get a leading quote."""
    out = df.copy()
    for col in columns:
        if col in out.columns:
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v)
    return out


# ------------------------------------------------------------------------------------------
# Tables
# ------------------------------------------------------------------------------------------


def _locality_order(solved: Solved) -> list[str]:
    """Localities in the locality table's order (neediest first)."""
    return [x for x in locality_table(solved).index if x != TOTAL]


def nearest_open_centre(solved: Solved) -> pd.Series:
    """Each area's nearest open centre (name), the one ``travel_minutes`` is measured to.

    From areas.csv ``nearest_site_id`` (written by ``solve``); for folders solved before that
    column existed, the open site nearest in a straight line (blank without coordinates).
    """
    a, s = solved.areas, solved.sites
    name = dict(zip(s["site_id"].astype(str), s["name"].astype(str), strict=True))
    if "nearest_site_id" in a.columns:
        return a["nearest_site_id"].map(lambda v: name.get(str(v), "") if pd.notna(v) else "")
    open_ = s[s["decision"].astype(str).isin(["keep", "open_new"])]
    if open_.empty or not {"x", "y"} <= set(a.columns) or a[["x", "y"]].isna().any().any():
        return pd.Series("", index=a.index)
    from scipy.spatial import cKDTree

    _, k = cKDTree(open_[["x", "y"]].to_numpy(float)).query(a[["x", "y"]].to_numpy(float))
    return pd.Series(open_["name"].astype(str).to_numpy()[k], index=a.index)


def areas_changing_table(solved: Solved) -> pd.DataFrame:
    """Every area that gains or loses access against today's network, grouped by locality.

    Areas that keep access only through outreach after losing the centre they have within
    reach today are listed too (change ``Centre replaced by outreach``).

    Columns: ``locality, area_id, name, imd_decile, children, need, change, before, after,
    nearest_site`` (the nearest open centre, at any distance), ``travel_minutes`` (to it);
    sorted by locality (the locality table's order: neediest first), losers first, then areas
    whose centre is replaced by outreach, then gainers, each by need (highest first).
    """
    a = solved.areas
    replaced = replaced_by_outreach(a)
    sel = a[a["change"].isin(["gains", "loses"]) | replaced].copy()
    nearest = nearest_open_centre(solved)
    before = (sel["reached_before"].map({True: "Reached", False: "Not reached"})
              if "reached_before" in sel.columns else pd.Series("n/a", index=sel.index))
    out = pd.DataFrame({
        "locality": sel["locality"].astype(str),
        "area_id": sel["area_id"].astype(str),
        "name": sel["name"].astype(str),
        "imd_decile": (pd.to_numeric(sel["imd_decile"], errors="coerce")
                       if "imd_decile" in sel.columns else np.nan),
        "children": pd.to_numeric(sel["population"], errors="coerce"),
        "need": pd.to_numeric(sel["need"], errors="coerce"),
        "change": sel["change"].map(CHANGE_LABELS).where(~replaced[sel.index], TO_OUTREACH),
        "before": before,
        "after": sel["reached_by"].map(lambda v: REACH_LABELS.get(str(v), str(v))),
        "nearest_site": nearest[sel.index],
        "travel_minutes": (pd.to_numeric(sel["travel_minutes"], errors="coerce")
                           if "travel_minutes" in sel.columns else np.nan),
    })
    rank = {loc: i for i, loc in enumerate(_locality_order(solved))}
    out["_loc"] = out["locality"].map(rank)
    out["_chg"] = out["change"].map({CHANGE_LABELS["loses"]: 0, TO_OUTREACH: 1}).fillna(2)
    out = out.sort_values(["_loc", "_chg", "need", "area_id"], ascending=[True, True, False, True],
                          kind="mergesort")
    if area_need_banded(solved):
        out["need"] = out["need"].map(need_band)
    return out.drop(columns=["_loc", "_chg"]).reset_index(drop=True)


AREA_COLUMNS = [("locality", "Locality", "text"), ("area_id", "Area code", "text"),
                ("name", "Area name", "text"), ("imd_decile", "IMD decile", "int"),
                ("children", "Children", "count"), ("need", "Need index", "decimal2"),
                ("change", "Change", "text"), ("before", "Today", "text"),
                ("after", "With this option", "text"),
                ("nearest_site", "Nearest open centre", "text"),
                ("travel_minutes", "Travel time (min)", "decimal1")]


def sites_table(solved: Solved) -> pd.DataFrame:
    """Every site and what the option does with it (kept, closed, new, not opened)."""
    s = solved.sites
    order = {"keep": 0, "open_new": 1, "close": 2, "not_opened": 3}
    out = pd.DataFrame({
        "site_id": s["site_id"].astype(str),
        "name": s["name"].astype(str),
        "locality": s["locality"].astype(str) if "locality" in s.columns else "",
        "status": s["status"].astype(str),
        "tier": s["tier"].astype(str),
        "decision": s["decision"].map(lambda d: DECISION_LABELS.get(d, str(d))),
        "annual_cost": pd.to_numeric(s.get("annual_cost"), errors="coerce"),
        "setup_cost": pd.to_numeric(s.get("setup_cost"), errors="coerce"),
        "areas_served": pd.to_numeric(s.get("areas_served"), errors="coerce"),
        "served_of_capacity": served_of_capacity(s),
        "demand_served": pd.to_numeric(s.get("demand_served"), errors="coerce"),
        "_order": s["decision"].map(order).fillna(9),
    })
    if area_need_banded(solved):
        # A site reaching one area would give that area's exact need away (need × children).
        out["demand_served"] = (out["demand_served"] / 50).round() * 50
    out = out.sort_values(["_order", "locality", "name", "site_id"], kind="mergesort")
    return out.drop(columns="_order").reset_index(drop=True)


SITE_COLUMNS = [("site_id", "Site id", "text"), ("name", "Site", "text"),
                ("locality", "Locality", "text"), ("status", "Today", "text"),
                ("tier", "Tier", "text"), ("decision", "This option", "text"),
                ("annual_cost", "Annual cost", "money"), ("setup_cost", "Set-up cost", "money"),
                ("areas_served", "Areas it serves", "int"),
                ("served_of_capacity", "Children served / capacity a year", "text"),
                ("demand_served", "Need-weighted children it serves", "count")]



def equality_table(solved: Solved) -> pd.DataFrame:
    """Reach before and after by IMD decile, with the areas and children gaining and losing.

    From ``solution.json`` ``change.by_imd_decile`` when present, else from the areas.
    """
    a = solved.areas.copy()
    if "imd_decile" not in a.columns:
        return pd.DataFrame()
    a["imd_decile"] = pd.to_numeric(a["imd_decile"], errors="coerce")
    a = a[a["imd_decile"].notna()]
    rows = (solved.solution.get("change") or {}).get("by_imd_decile")
    if rows:
        d = pd.DataFrame(rows)
    else:
        demand = pd.to_numeric(a["population"]) * pd.to_numeric(a["need"])
        before = demand * a.get("reached_before", False).astype(float)
        after = demand * pd.to_numeric(a.get("reach_share", 0.0))
        g = pd.DataFrame({"imd_decile": a["imd_decile"], "need_total": demand,
                          "need_reached_before": before, "need_reached_after": after})
        d = g.groupby("imd_decile", as_index=False).sum()
        d["share_before"] = d["need_reached_before"] / d["need_total"]
        d["share_after"] = d["need_reached_after"] / d["need_total"]
    d["imd_decile"] = d["imd_decile"].astype(int)
    d = d.sort_values("imd_decile").reset_index(drop=True)
    grp = a.groupby("imd_decile")
    for kind in ("gains", "loses"):
        m = a["change"] == kind
        d[f"areas_{kind}"] = d["imd_decile"].map(a[m].groupby("imd_decile").size()).fillna(0)
        d[f"children_{kind}"] = d["imd_decile"].map(
            pd.to_numeric(a.loc[m, "population"]).groupby(a.loc[m, "imd_decile"]).sum()
        ).fillna(0)
    replaced = replaced_by_outreach(a)
    d["areas_to_outreach"] = d["imd_decile"].map(
        a[replaced].groupby("imd_decile").size()).fillna(0)
    d["areas"] = d["imd_decile"].map(grp.size()).fillna(0)
    if not solved.network_known:
        # With no list of today's centres there is no "before": every area would "gain".
        d["share_before"] = np.nan
        for kind in ("gains", "loses"):
            d[f"areas_{kind}"] = np.nan
            d[f"children_{kind}"] = np.nan
        d["areas_to_outreach"] = np.nan
    d["change_points"] = 100 * (d["share_after"] - d["share_before"])
    cols = ["imd_decile", "areas", "need_total", "share_before", "share_after", "change_points",
            "areas_gains", "children_gains", "areas_loses", "children_loses", "areas_to_outreach"]
    return d[cols]


EQUALITY_COLUMNS = [("imd_decile", "IMD decile"), ("areas", "Areas"),
                    ("share_before", "Need reached today"),
                    ("share_after", "Need reached with this option"),
                    ("change_points", "Change (points)"), ("areas_gains", "Areas gaining"),
                    ("children_gains", "Children in areas gaining"),
                    ("areas_loses", "Areas losing"), ("children_loses", "Children in areas losing"),
                    ("areas_to_outreach", "Areas whose centre is replaced by outreach")]


OPTION_COLUMNS = [("title", "Option", "text"), ("envelope", "Whole budget", "money"),
                  ("centres_cost", "Centres", "money"),
                  ("outreach_cost", "Outreach workers", "money"),
                  ("grants", "Grants", "money"), ("set_aside", "Set aside", "money"),
                  ("unspent", "Not spent", "money"),
                  ("reach_share", "Need reached", "percent"),
                  ("reach_share_deciles_1_2", "Need reached, IMD deciles 1-2", "percent"),
                  ("sites", "Centres open", "int"), ("outreach_workers", "Outreach workers", "int"),
                  ("localities_below_floor", "Localities below their floor", "int"),
                  ("areas_losing_access", "Areas losing access", "int"),
                  ("mean_travel_minutes", "Mean travel time (min)", "decimal1"),
                  ("notes", "Notes", "text")]


def options_table(compare: pd.DataFrame) -> pd.DataFrame:
    """The options side by side (from ``compare.csv``), the columns the pack shows.

    Every option's whole envelope is shown the same way (:data:`optimiser.compare.
    ENVELOPE_PARTS`); a table written before those columns existed gets them from
    ``annual_cost`` and ``extra_funding``. ``option`` keeps the scenario's name.
    """
    from optimiser.compare import option_title

    out = pd.DataFrame(index=compare.index)
    money = charts._envelope_parts(compare)
    for col, _label, kind in OPTION_COLUMNS:
        if col in money.columns:
            out[col] = money[col]
        elif col in compare.columns:
            out[col] = compare[col]
        else:
            out[col] = "" if kind == "text" else np.nan
    out.insert(0, "option", compare["option"].astype(str))
    titles = compare["title"] if "title" in compare.columns else pd.Series(np.nan, compare.index)
    out["title"] = [t if isinstance(t, str) and t.strip() else option_title({}, o)
                    for t, o in zip(titles, out["option"], strict=True)]
    out["notes"] = out["notes"].fillna("").astype(str)
    if "status" in compare.columns:
        # An option without a plan (e.g. infeasible) says why its figures are blank.
        no_plan = pd.to_numeric(compare["reach_share"], errors="coerce").isna().to_numpy()
        status = compare["status"].fillna("").astype(str).to_numpy()
        out.loc[no_plan, "notes"] = [
            f"No plan: the solver found this option {st or 'unsolved'}. {n}".strip()
            for st, n in zip(status[no_plan], out.loc[no_plan, "notes"], strict=True)]
    return out.reset_index(drop=True)


def money_rows(solved: Solved) -> list[tuple[str, str]]:
    """Where the option's money goes, one line per part, adding up to its whole envelope
    (the same parts as ``compare.csv``; :func:`optimiser.compare.envelope`)."""
    from optimiser.compare import envelope

    sol = solved.solution
    settings = sol.get("settings") or {}
    parts = envelope(sol)
    years = settings.get("annualise_years")
    workers = int(sum((sol.get("outreach") or {}).values()))
    plan_years = sol.get("years") or []
    if plan_years:  # a multi-year plan: its final year, one-off costs as they fall
        centres = (f"Centres in {plan_years[-1]['year']}: running costs, and the one-off costs "
                   "falling that year")
    else:
        centres = "Centres: running costs" + (
            f", and one-off costs spread over {years:g} years" if years else "")
    rows = [(centres, parts["centres_cost"]),
            (f"Outreach workers ({workers})", parts["outreach_cost"])]
    for key, what in (("grants", "Grants"), ("set_aside", "Set aside")):
        for label, amount in (settings.get(key) or {}).items():
            rows.append((f"{what}: {label}", amount))
    rows.append(("Not spent", parts["unspent"]))
    out = [(label, format_value(v, "money")) for label, v in rows]
    return [*out, ("Whole budget", format_value(parts["envelope"], "money"))]


def glossary(solved: Solved) -> list[tuple[str, str]]:
    """The words the pack uses, in plain English (figures from this option's settings)."""
    settings = solved.solution.get("settings") or {}
    caseload = (settings.get("outreach") or {}).get("caseload")
    cap = (pd.to_numeric(solved.sites["capacity"], errors="coerce")
           if "capacity" in solved.sites.columns else pd.Series(dtype=float))
    hub = cap[solved.sites["tier"].astype(str) == "hub"].median() if len(cap) else np.nan
    spoke = cap[solved.sites["tier"].astype(str) == "spoke"].median() if len(cap) else np.nan
    sizes = (f" In this plan a hub works with about {hub:,.0f} children a year"
             + (f" and a spoke with about {spoke:,.0f}" if pd.notna(spoke) else "") + "."
             if pd.notna(hub) else "")
    served = ("A child is served when they have a place at an open centre they can travel to, "
              "or with an outreach worker. Fewer families use a centre the further away it is."
              if solved.service_model else
              "An area is reached when an open centre is within the travel-time limit, or in "
              "part when an outreach worker covers it.")
    return [
        ("Need index", "How much support an area's children are likely to need, compared with "
         "the council average. 1 is average; 2 means about twice the average need. It combines "
         "deprivation, children in need, child protection plans and the share of young "
         "children."),
        ("Need-weighted children", "Children counted by their area's need index: a child in an "
         "area with need 2 counts as two children, a child in an area with need 0.5 as half. "
         "It shows where need is, not just where children live."),
        ("Served (reached)", served + " The share of need served is the need-weighted "
         "children served out of all need-weighted children."),
        ("Capacity", "How many children a centre's staff can work with in a year; a full "
         "centre cannot take more." + sizes),
        ("Outreach", "Family support workers who visit families at home or meet them nearby, "
         "so families need not travel to a centre"
         + (f"; each works with about {caseload:,.0f} children a year." if caseload else ".")),
        ("Hub and spoke", "A hub is a centre open all week with the full service; a spoke is a "
         "smaller site with sessions, linked to a hub."),
        ("IMD decile", "Where an area ranks on the Index of Multiple Deprivation: decile 1 is "
         "England's most deprived tenth of neighbourhoods, decile 10 the least deprived."),
        ("c", "A small number hidden to protect families' privacy (see 'Publishing small "
         "numbers')."),
    ]


# ------------------------------------------------------------------------------------------
# Words
# ------------------------------------------------------------------------------------------


def summary_facts(solved: Solved, equality: pd.DataFrame) -> dict:
    """Plain-English facts about the option, for the pack's summary."""
    sol = solved.solution
    sites = solved.sites
    dec = sites["decision"].value_counts()
    existing = int((sites["status"] == "existing").sum())
    totals = sol.get("totals") or {}
    settings = sol.get("settings") or {}
    before = np.nan
    if not equality.empty and equality["need_total"].sum() > 0:
        eq = equality
        before = float((eq["share_before"] * eq["need_total"]).sum() / eq["need_total"].sum())
    losing = solved.areas[solved.areas["change"] == "loses"]
    gaining = solved.areas[solved.areas["change"] == "gains"]
    to_outreach = solved.areas[replaced_by_outreach(solved.areas)]
    deprived_losing = 0
    if "imd_decile" in losing.columns:
        deprived_losing = int((pd.to_numeric(losing["imd_decile"], errors="coerce") <= 2).sum())
    deprived_to_outreach = 0
    if "imd_decile" in to_outreach.columns:
        deprived_to_outreach = int(
            (pd.to_numeric(to_outreach["imd_decile"], errors="coerce") <= 2).sum())
    outreach = int(pd.to_numeric(solved.localities["outreach_workers"]).sum())
    facts = {
        "kept": int(dec.get("keep", 0)), "closed": int(dec.get("close", 0)),
        "new": int(dec.get("open_new", 0)), "existing": existing,
        "outreach": outreach,
        "annual_cost": totals.get("annual_cost"),
        "budget": settings.get("budget"),
        "reach_share": totals.get("reach_share"),
        "reach_before": before,
        "children_reached": totals.get("children_reached"),
        "areas": len(solved.areas), "localities": len(solved.localities),
        "areas_gaining": len(gaining), "areas_losing": len(losing),
        "deprived_losing": deprived_losing,
        "areas_to_outreach": len(to_outreach), "deprived_to_outreach": deprived_to_outreach,
        "status": str(sol.get("status", "")), "gap": sol.get("gap"),
        "objective": str(sol.get("objective", "")),
    }
    n_locs = _n(facts["localities"], "locality", "localities")
    open_now = sites[sites["decision"].isin(["keep", "open_new"])]
    tiers = (f" ({_n((open_now['tier'] == 'hub').sum(), 'hub')} and "
             f"{_n((open_now['tier'] == 'spoke').sum(), 'spoke')})")
    if existing:
        first = (f"This option keeps {facts['kept']} of today's {_n(existing, 'centre')}, closes "
                 f"{facts['closed']} and opens {_n(facts['new'], 'new centre')}, "
                 f"{len(open_now)} open in all{tiers}")
    else:
        first = ("No existing centres were given, so every centre is new: this option opens "
                 f"{_n(facts['new'], 'centre')}{tiers}")
    words = [f"{first}, with {_n(outreach, 'outreach worker')} across {n_locs}."]
    if facts["annual_cost"] is not None:
        cost = f"It costs {format_value(facts['annual_cost'], 'money')} a year"
        if facts["budget"]:
            cost += f" within a budget of {format_value(facts['budget'], 'money')}"
        words.append(cost + ".")
    known = solved.network_known
    if facts["reach_share"] is not None:
        s = (f"It {'serves' if solved.service_model else 'reaches'} "
             f"{format_value(facts['reach_share'], 'percent')} of need-weighted children")
        if known and np.isfinite(before):
            s += f" (today's network: {format_value(before, 'percent')})"
        if solved.service_model and facts["children_reached"] is not None:
            s += (f": {format_value(facts['children_reached'], 'count')} children a year get a "
                  "place at a centre or with an outreach worker")
        words.append(s + ".")
    if known:
        words.append(f"{_n(len(gaining), 'area')} gain access and {_n(len(losing), 'area')} "
                     f"lose it; {deprived_losing} of the areas losing access are among England's "
                     "most deprived fifth (IMD deciles 1-2).")
        if len(to_outreach):
            words.append(f"{_n(len(to_outreach), 'area')} with a centre within reach today "
                         f"lose{'s' if len(to_outreach) == 1 else ''} it and "
                         f"{'is' if len(to_outreach) == 1 else 'are'} reached by outreach "
                         f"instead; {deprived_to_outreach} of them are in IMD deciles 1-2.")
    else:
        words.append(UNKNOWN_NETWORK)
    facts["network_known"] = known
    if facts["status"] not in ("optimal", ""):
        words.append(f"Note: the solver's status is '{facts['status']}'"
                     # Two significant figures: a search's 0.03% is not "0.0%".
                     + (f" (gap {100 * facts['gap']:.2g}%)"
                        if facts["gap"] is not None else "")
                     + ": the plan is the best found, not proven the best.")
    facts["sentences"] = words
    return facts


UNKNOWN_NETWORK = ("Today's network is not known: the instance lists no existing centres, so "
                   "this pack cannot say which areas gain or lose access. Add today's centres "
                   "to sites.csv with status 'existing' and solve again.")


def equality_sentences(eq: pd.DataFrame) -> list[str]:
    """Plain-English equality-impact findings by deprivation."""
    if eq.empty:
        return ["The areas have no IMD decile, so no equality analysis by deprivation is "
                "possible."]
    out = []
    dep = eq[eq["imd_decile"] <= 2]
    rest = eq[eq["imd_decile"] > 2]

    def share(part: pd.DataFrame, col: str) -> float:
        tot = part["need_total"].sum()
        return float((part[col] * part["need_total"]).sum() / tot) if tot > 0 else np.nan

    if eq["share_before"].isna().all():
        for part, label in ((dep, "the most deprived fifth of areas (IMD deciles 1-2)"),
                            (rest, "the other areas (deciles 3-10)")):
            if not part.empty:
                out.append(f"In {label} this option reaches "
                           f"{format_value(share(part, 'share_after'), 'percent')} of need.")
        out.append(UNKNOWN_NETWORK)
        return out
    if not dep.empty:
        b, a = share(dep, "share_before"), share(dep, "share_after")
        out.append(f"In the most deprived fifth of areas (IMD deciles 1-2) the share of need "
                   f"reached goes from {format_value(b, 'percent')} to "
                   f"{format_value(a, 'percent')}.")
    if not rest.empty:
        b, a = share(rest, "share_before"), share(rest, "share_after")
        out.append(f"In the other areas (deciles 3-10) it goes from {format_value(b, 'percent')} "
                   f"to {format_value(a, 'percent')}.")
    losing_dep = int(dep["areas_loses"].sum()) if not dep.empty else 0
    losing_all = int(eq["areas_loses"].sum())
    out.append(f"{_n(losing_all, 'area')} lose{'s' if losing_all == 1 else ''} access to a "
               "centre; " + (("it is" if losing_dep else "it is not") if losing_all == 1
                             else f"{losing_dep} of them are")
               + " in deciles 1-2. Every area losing access is listed under "
               "'What changes in my area', by locality, so the effect on families with "
               "protected characteristics there can be assessed.")
    moved = int(eq["areas_to_outreach"].sum())
    if moved:
        moved_dep = int(dep["areas_to_outreach"].sum()) if not dep.empty else 0
        one = moved == 1
        out.append(f"{_n(moved, 'area')} lose{'s' if one else ''} the centre within reach today "
                   f"and {'is' if one else 'are'} reached only by outreach; "
                   + (("it is" if moved_dep else "it is not") if one
                      else f"{moved_dep} of them are") + " in deciles 1-2. "
                   f"{'It is' if one else 'They are'} listed there too.")
    return out


def service_paragraph(settings: dict, sites: pd.DataFrame) -> str:
    """The service model in words a councillor follows, from the scenario's settings.

    >>> st = {"reach": {"model": "service", "max_minutes": {"urban": 30, "rural": 45},
    ...       "decay": {"curve": "exponential", "full_minutes": {"urban": 10, "rural": 15},
    ...                 "half_minutes": {"urban": 10, "rural": 15}}},
    ...       "outreach": {"caseload": 84}}
    >>> sites = pd.DataFrame({"tier": ["hub", "spoke"], "capacity": [1400.0, 560.0]})
    >>> print(service_paragraph(st, sites))  # doctest: +NORMALIZE_WHITESPACE
    A hub works with about 1,400 children a year and a spoke with about 560, as many as their
    staff can (an outreach worker about 84). Families within 10 minutes of a centre (15 in
    rural areas) use it as much as they need to; every further 10 minutes (15 rural) halves
    the share of families who come, and nobody is counted beyond 30 minutes (45 rural). So a
    centre fills its places with the neediest families nearby, and more money buys more
    centres and staff and serves more children until the need near them is met.
    """
    reach = settings.get("reach") or {}

    def both(v) -> tuple[float, float]:
        return (v.get("urban"), v.get("rural")) if isinstance(v, dict) else (v, v)

    cap = pd.to_numeric(sites.get("capacity"), errors="coerce") if "capacity" in sites else None
    words = []
    for tier, article in (("hub", "A hub"), ("spoke", "a spoke")):
        c = cap[sites["tier"] == tier].median() if cap is not None else np.nan
        if pd.notna(c):
            words.append(f"{article} {'works with about ' if tier == 'hub' else 'with about '}"
                         f"{c:,.0f}{' children a year' if tier == 'hub' else ''}")
    out = (" and ".join(words) + ", as many as their staff can") if words else \
        "Each centre works with as many children as its staff can"
    caseload = (settings.get("outreach") or {}).get("caseload")
    out += f" (an outreach worker about {caseload:,.0f})." if caseload else "."
    decay = reach.get("decay") or {}
    mx_u, mx_r = both(reach.get("max_minutes", 30))
    if decay.get("curve", "exponential") == "step":
        out += (f" Families within {mx_u:g} minutes of a centre ({mx_r:g} in rural areas) can use "
                "it; nobody is counted from further away.")
    else:
        fu, fr = both(decay.get("full_minutes", 10))
        hu, hr = both(decay.get("half_minutes", 10))
        out += (f" Families within {fu:g} minutes of a centre ({fr:g} in rural areas) use it as "
                f"much as they need to; every further {hu:g} minutes ({hr:g} rural) halves the "
                f"share of families who come, and nobody is counted beyond {mx_u:g} minutes "
                f"({mx_r:g} rural).")
    return out + (" So a centre fills its places with the neediest families nearby, and more "
                  "money buys more centres and staff and serves more children until the need "
                  "near them is met.")


def budget_sentence(sweep: pd.DataFrame | None, *, service: bool = False) -> str:
    """What the sweep shows, in words: reach at the lowest and highest budget, and what each
    extra £1m buys below and above the knee (blank without a usable sweep); with ``service``
    (the service model), why the curve has the slope it has.

    Examples
    --------
    >>> t = pd.DataFrame({"budget": [4e6, 8e6, 16e6], "reach_share": [0.8, 0.96, 0.99],
    ...                   "knee": [False, True, False]})
    >>> print(budget_sentence(t))  # doctest: +NORMALIZE_WHITESPACE
    At £4,000,000 a year the best plan reaches 80.0% of need; at £16,000,000, 99.0%. Up to
    £8,000,000 (the knee of the curve) each extra £1m reaches 4.0 more points of need on average;
    above it, 0.4 points.
    """
    if sweep is None:
        return ""
    s = sweep.copy()
    s["reach_share"] = pd.to_numeric(s["reach_share"], errors="coerce")
    s = s[s["reach_share"].notna()].sort_values("budget")
    if len(s) < 2:
        return ""
    lo, hi = s.iloc[0], s.iloc[-1]
    words = (f"At {format_value(lo['budget'], 'money')} a year the best plan reaches "
             f"{format_value(lo['reach_share'], 'percent')} of need; at "
             f"{format_value(hi['budget'], 'money')}, "
             f"{format_value(hi['reach_share'], 'percent')}.")
    knee = s[s["knee"].astype(str).str.lower().isin(["true", "1", "1.0"])] \
        if "knee" in s.columns else s.iloc[0:0]

    def per_million(a: pd.Series, b: pd.Series) -> float:
        return 100 * (b["reach_share"] - a["reach_share"]) / ((b["budget"] - a["budget"]) / 1e6)

    if len(knee) and lo["budget"] < knee.iloc[0]["budget"] < hi["budget"]:
        k = knee.iloc[0]
        words += (f" Up to {format_value(k['budget'], 'money')} (the knee of the curve) each "
                  f"extra £1m reaches {per_million(lo, k):.1f} more points of need on average; "
                  f"above it, {per_million(k, hi):.1f} points.")
    if service:
        words += (" The curve rises because each extra pound buys centres and staff who serve "
                  "more families; it flattens because the first money goes where need is "
                  "highest and families live close, and later money serves families with less "
                  "need or further from a centre, who come less often.")
    return words


def notes(solved: Solved, threshold: int, suppress: Sequence[str]) -> list[tuple[str, str]]:
    """The Notes sheet and the pack's notes: sources, method, modelled figures, licence."""
    prep = solved.prepare
    rows: list[tuple[str, str]] = []
    rows.append(("Option", f"{solved.title} ({solved.solution.get('objective', '')}; solver "
                           f"status {solved.solution.get('status', '')})."))
    sources = prep.get("sources") or []
    if sources:
        for s in sources:
            if isinstance(s, dict):
                rows.append(("Source", ", ".join(f"{k}: {v}" for k, v in s.items()
                                                 if k in ("file", "title", "vintage", "licence",
                                                          "url", "sha256"))))
    else:
        rows.append(("Source", "IMD 2019 (MHCLG), ONS small-area population estimates, DfE "
                               "children in need statistics, ONS LSOA 2011 boundaries."))
    rows += vintage_rows(prep)
    what_input = {"cases": "children in need / protection plan extract",
                  "sites": "sites (today's centres and candidates)",
                  "localities": "locality lookup"}
    inputs = prep.get("inputs") or {}
    if isinstance(inputs, dict):
        for key, info in inputs.items():
            if isinstance(info, dict) and info.get("file"):
                rows.append(("Council's file", f"{what_input.get(key, key)}: "
                             f"{Path(str(info['file'])).name}"
                             + (f", sha256: {info['sha256']}" if info.get("sha256") else "")))
    need = prep.get("need") or {}
    weights = need.get("weights")
    rows.append(("Need index", "Each area's need multiplier combines the indicators "
                 + (", ".join(f"{k} (weight {v})" for k, v in weights.items())
                    if isinstance(weights, dict) else "IMD score, children on protection plans, "
                    "children in need and share under 5")
                 + f", each standardised across the county ({need.get('method', 'z')}-scores), "
                 "rescaled so the population-weighted mean is 1. A locality's need index is the "
                 "population-weighted mean of its areas'."))
    service = solved.service_model
    rows.append(("Model", "A mixed-integer linear programme chooses which centres to keep, "
                 "close and open and how many outreach workers each locality gets, to " + (
                     "serve the most need-weighted children within the annual budget. Each "
                     "centre serves at most the children its staff can work with, fewer "
                     "families use a centre the further away it is, and an outreach worker "
                     "serves a set caseload. An area is served when some of its children have "
                     "a place at a centre or with an outreach worker." if service else
                     "reach the most need-weighted children within the annual budget. An area "
                     "is reached when an open centre is within the travel-time threshold, or "
                     "partly by outreach.")))
    rate = ((prep.get("cases") or {}).get("rate") if isinstance(prep.get("cases"), dict)
            else None)
    rows.append(("Modelled figures", "Children in need and on protection plans per area are "
                 "MODELLED estimates: the local authority's published totals shared out by "
                 "child population and " + (
                     "income deprivation (the Income domain score, standing in for the IDACI "
                     "score, which the data do not hold)" if rate == "income_score" else
                     "child income deprivation (IDACI)") + ". They are not counts."
                 if solved.modelled_cases else
                 "Children in need and on protection plans are the council's own counts."))
    banded = (" Each area's need index is shown only as its band (e.g. '1.0 to 1.2'): it is "
              "built from the council's own counts of children in need and on protection plans "
              "per area, which its exact value could give away; for the same reason the "
              "need-weighted children each site reaches (and each IMD decile holds) are "
              "rounded to the nearest 50."
              if area_need_banded(solved)
              else "")
    rows.append(("Disclosure control", f"Counts of {', '.join(_LABEL.get(c, c) for c in suppress)}"
                 f" from 1 to {threshold} are shown as 'c'; further cells are suppressed where "
                 "needed so no suppressed value can be worked out from the totals. Zero is "
                 "shown." + banded
                 if threshold > 0 else NO_DISCLOSURE_CONTROL))
    if solved.allocation is None:
        rows.append(("Funding allocated", "n/a: no funding allocation was made for this option."))
    elif solved.allocation_purpose:
        rows.append(("Funding allocated", solved.allocation_purpose))
    if not solved.network_known:
        rows.append(("Today's network", UNKNOWN_NETWORK))
    rows.append(("Licence", f"{OGL[0]}. {OGL[1]}."))
    return rows


_LABEL = {k: v[0].lower() for k, v in COLUMNS.items()}


def vintage_rows(prep: dict) -> list[tuple[str, str]]:
    """The notes naming the data vintage (``prepare.json`` ``vintage``) and its caveats, and the
    instance's own notes (e.g. a council file carried from LSOA 2011 to LSOA 2021)."""
    v = prep.get("vintage")
    rows: list[tuple[str, str]] = []
    if isinstance(v, dict) and v.get("label"):
        rows.append(("Data vintage", f"{v['label']}: {v.get('index', '')}, "
                     f"{v.get('geography', '')} areas, upper-tier authorities of "
                     f"{v.get('upper_tier_authorities', '')}; population "
                     f"{v.get('population') or 'as published'}."))
        for caveat in v.get("caveats") or []:
            rows.append(("Caveat", str(caveat)[0].upper() + str(caveat)[1:] + "."))
    for note in prep.get("notes") or []:
        if "LSOA 2011 codes" in str(note):
            rows.append(("Council's file", str(note)[0].upper() + str(note)[1:] + "."))
    return rows


# ------------------------------------------------------------------------------------------
# The pack
# ------------------------------------------------------------------------------------------


def _locality_header(solved: Solved, table: pd.DataFrame) -> list[tuple[str, str, str]]:
    mark = " (modelled)" if solved.modelled_cases else ""
    cols = []
    for col, (label, kind) in COLUMNS.items():
        if col in ("cin", "cpp"):
            label += mark
        cols.append((col, label, kind))
    return cols


def _html_rows(frame: pd.DataFrame, columns: Sequence[tuple[str, str, str]]) -> list[list[str]]:
    return [[format_value(row[c], k) if k != "text" else str(row[c]) for c, _l, k in columns]
            for _, row in frame.iterrows()]


@dataclass
class _Page:
    """One option's page of the pack: its template context, files and counts."""

    solved: Solved
    ctx: dict
    files: dict[str, str | bytes]
    suppressed: int
    counts: dict[str, int]
    circles: bool
    funding: bool
    internal: pd.DataFrame
    shapes: AreaShapes


def _deprivation_index(solved: Solved) -> str:
    """The deciles' index, as the charts label it: IMD 2025 on the 2025 vintage."""
    vintage = solved.prepare.get("vintage") or {}
    return "IMD 2025" if isinstance(vintage, dict) and vintage.get("key") == "2025" \
        else "IMD 2019"


def _option_page(solved: Solved, *, threshold: int, suppress: Sequence[str],
                 self_contained: bool, prefix: str, anchor: str, note: str,
                 env: jinja2.Environment) -> _Page:
    """Tables, map, charts and words of one option; its files named under ``prefix``."""
    internal = locality_table(solved)
    if TOTAL in set(solved.localities["locality"]):
        raise InputError(f"a locality is called '{TOTAL}', the name of the total row",
                         file=solved.folder / "localities.csv", column="locality",
                         hint="rename the locality")
    published, mask = publish_table(internal, threshold, suppress)
    display = display_table(published)
    loc_columns = _locality_header(solved, internal)
    funding = has_funding(internal)
    changing = areas_changing_table(solved)
    if not solved.network_known:
        changing = changing.iloc[0:0]  # no "before": nothing gains or loses
    sites = sites_table(solved)
    equality = equality_table(solved)
    facts = summary_facts(solved, equality)
    note_rows = notes(solved, threshold, suppress)
    shapes = area_shapes(solved)
    map_html = build_map(solved, display, self_contained=self_contained, shapes=shapes)
    index = _deprivation_index(solved)
    decile_svg = charts.reach_by_decile_chart(equality, index) if not equality.empty else None
    service_words = (service_paragraph(solved.solution.get("settings") or {}, solved.sites)
                     if solved.service_model else "")
    years = years_context(solved.folder, dict(zip(solved.sites["site_id"].astype(str),
                                                  solved.sites["name"].astype(str),
                                                  strict=True)),
                          solved.solution.get("settings") or {})
    ctx = {
        "title": solved.title, "name": solved.name, "anchor": anchor, "prefix": prefix,
        "note": note, "facts": facts, "money": money_rows(solved),
        "loc_columns": loc_columns,
        "loc_rows": _html_rows(display, [(c, lab, "text") for c, lab, _k in loc_columns]),
        "funding": funding, "funding_purpose": solved.allocation_purpose,
        "modelled": solved.modelled_cases, "threshold": threshold,
        "changing_groups": [(loc, _html_rows(part, AREA_COLUMNS[1:]))
                            for loc, part in changing.groupby("locality", sort=False)]
        if solved.network_known else [],
        "network_known": solved.network_known,
        "equality_rows": _equality_rows(equality),
        "equality_sentences": equality_sentences(equality),
        "decile_chart": f"{prefix}charts/reach_by_imd_decile.svg" if decile_svg else None,
        "decile_png": (charts.reach_by_decile_chart(equality, index, fmt="png") if decile_svg
                       else b""),
        "service_words": service_words, "settings": solved.solution.get("settings") or {},
        "circles": shapes.circles, "map_src": f"{prefix}map.html",
        "static_map": static_map_png(solved, shapes),
        "files": _page_files(prefix, not equality.empty),
        "years": years, "years_chart": f"{prefix}charts/years.svg" if years else None,
    }
    names = ["locality", "name", "nearest_site"]
    files: dict[str, str | bytes] = {
        "map.html": map_html,
        "localities.html": env.get_template("localities.html.j2").render(
            la=solved.la_name, name=solved.title, total_label=TOTAL, ogl=OGL, **{
                k: ctx[k] for k in ("loc_columns", "loc_rows", "funding", "funding_purpose",
                                    "threshold", "modelled")}),
        "localities.csv": _csv_text(_safe_csv_text(csv_table(published), names)),
        "areas_changing.csv": _csv_text(_safe_csv_text(changing, names), float_format="%.4g"),
        "sites.csv": _csv_text(_safe_csv_text(sites, names)),
        XLSX_NAME: build_workbook(
            csv_table(published), loc_columns, changing, AREA_COLUMNS, sites, SITE_COLUMNS,
            note_rows, empty_changes=(UNKNOWN_NETWORK if not solved.network_known else
                                      "No area gains or loses access under this option.")),
    }
    if not equality.empty:
        published_eq = equality.copy()
        if area_need_banded(solved):
            # a decile of one area would give that area's exact need away
            published_eq["need_total"] = (published_eq["need_total"] / 50).round() * 50
        files["equality_by_imd_decile.csv"] = _csv_text(published_eq, float_format="%.6g")
    if decile_svg:
        files["charts/reach_by_imd_decile.svg"] = decile_svg
    if years:
        files["charts/years.svg"] = years["svg"]
    return _Page(solved=solved, ctx=ctx, files={prefix + k: v for k, v in files.items()},
                 suppressed=int(mask.to_numpy().sum()), counts=map_counts(solved),
                 circles=shapes.circles, funding=funding, internal=internal, shapes=shapes)


def _page_files(prefix: str, equality: bool) -> list[tuple[str, str]]:
    """The downloads of one option's page: (file, what it holds)."""
    out = [(XLSX_NAME, "sheets " + ", ".join(SHEETS)),
           ("localities.csv", "the locality table"),
           ("areas_changing.csv", "every area that gains or loses access"),
           ("sites.csv", "every site and what this option does with it")]
    if equality:
        out.append(("equality_by_imd_decile.csv", "reach by deprivation decile"))
    out.append(("map.html", "the interactive map (works without an internet connection)"))
    out.append((GPKG_NAME, "the plan's areas, sites and localities for GIS (GeoPackage)"))
    return [(prefix + f, what) for f, what in out]


def _equality_rows(equality: pd.DataFrame) -> list[list[str]]:
    return [
        [f"{int(r.imd_decile)}", f"{int(r.areas)}", format_value(r.share_before, "percent"),
         format_value(r.share_after, "percent"),
         f"{r.change_points:+.1f}" if np.isfinite(r.change_points) else "n/a",
         format_value(r.areas_gains, "int"), format_value(r.children_gains, "count"),
         format_value(r.areas_loses, "int"), format_value(r.children_loses, "count"),
         format_value(r.areas_to_outreach, "int")]
        for r in equality.itertuples()] if not equality.empty else []


def _csv_text(frame: pd.DataFrame, float_format: str | None = None) -> str:
    """CSV text as :func:`optimiser.files.write_csv` writes it (booleans as true/false)."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map({True: "true", False: "false"})
    return out.to_csv(index=False, float_format=float_format, lineterminator="\n")


def _read_pack_input(folder: Path) -> tuple[list[Solved], pd.DataFrame | None,
                                           pd.DataFrame | None, list[str]]:
    """The options the pack describes: a solved folder (one option), or the folder
    ``optimiser compare`` writes (every option with a plan, in the table's order).

    Returns the solved options, the comparison table, the sweep and each option's note.
    """
    if not (folder / "solution.json").is_file() and not (folder / "compare.csv").is_file():
        raise InputError("the folder has neither solution.json (written by 'optimiser solve') "
                         "nor compare.csv (written by 'optimiser compare')", file=folder,
                         hint="give the folder one of those commands wrote with --out")
    if not (folder / "solution.json").is_file():
        compare, solved, sweep = read_options(folder)
        notes_col = (compare["notes"].fillna("").astype(str) if "notes" in compare.columns
                     else pd.Series("", index=compare.index))
        by_name = dict(zip(compare["option"].astype(str), notes_col, strict=True))
        return solved, compare, sweep, [by_name.get(s.name, "") for s in solved]
    lead = read_solved(folder)
    return [lead], lead.compare, lead.sweep, [""]


def build_pack(solved_dir: str | Path, out: str | Path, threshold: int = DEFAULT_THRESHOLD,
               self_contained: bool = True, *,
               suppress: Sequence[str] = SUPPRESSED_COLUMNS,
               disclosure_control: bool = True) -> str:
    """Map, locality tables and consultation pack (web pages and ``pack.pdf``).

    Parameters
    ----------
    solved_dir
        The folder written by ``optimiser solve`` (a pack about one option, with the options
        compared when a ``compare.csv`` is found beside it), or the folder written by
        ``optimiser compare`` (one page per option with a plan, and the comparison).
    out
        The pack folder (replaced whole). The unsuppressed internal tables go to
        ``<out>-internal`` beside it.
    threshold
        Disclosure control: counts of children from 1 to this are shown as ``c``.
    self_contained
        Inline every script and style in the map (opens with no network).
    suppress
        Columns of counts of children to protect (default CIN and CPP).
    disclosure_control
        False only to publish exact counts on purpose (``--no-disclosure-control``): the
        threshold is then 0 and the pack's front page says the counts are not protected. A
        threshold of 0 with disclosure control on is refused.

    Returns
    -------
    str
        A short summary for the command line.
    """
    t0 = time.perf_counter()
    if threshold < 0:
        raise InputError(f"the disclosure threshold must be 0 or more, not {threshold}",
                         column="--threshold", hint="DfE uses 5; some councils ask for 10")
    if threshold == 0 and disclosure_control:
        raise InputError(
            "a threshold of 0 turns disclosure control off: small counts of children in need "
            "and on protection plans would be published exactly", column="--threshold",
            hint="use 1 or more (DfE uses 5), or pass --no-disclosure-control to publish exact "
            "counts knowingly (the pack then says so on its front page)")
    if not disclosure_control:
        threshold = 0
    counts = [c for c, (_label, kind) in COLUMNS.items() if kind == "count"]
    unknown = [c for c in suppress if c not in counts]
    if unknown:
        raise InputError(f"cannot suppress unknown column '{unknown[0]}'", column="--suppress",
                         hint=f"name counts of children: {', '.join(counts)}")
    solved_dir, out = Path(solved_dir), Path(out)
    if not solved_dir.is_dir():
        raise InputError("the solved folder does not exist", file=solved_dir,
                         hint="run 'optimiser solve SCENARIO.yaml --out DIR' (or 'optimiser "
                         "compare') first and give DIR")
    if out.resolve() == solved_dir.resolve():
        raise InputError("the pack folder is the solved folder", file=out,
                         hint="give another folder with --out: the pack replaces it whole")
    solveds, compare, sweep, option_notes = _read_pack_input(solved_dir)
    from optimiser.files import check_output_dir

    reads = [solved_dir, *(f for s in solveds for f in s.inputs)]
    internal_dir = out.parent / f"{out.name}-internal"
    for folder in (out, internal_dir):  # before the work, not only when writing
        check_output_dir(folder.resolve(), reads)
    env = _env()
    pages = []
    for i, (solved, note) in enumerate(zip(solveds, option_notes, strict=True)):
        slug = _slug(solved.name)
        pages.append(_option_page(
            solved, threshold=threshold, suppress=suppress, self_contained=self_contained,
            prefix="" if i == 0 else f"options/{slug}/", anchor="" if i == 0 else f"{slug}-",
            note=note, env=env))
    lead = pages[0].solved
    options = options_table(compare) if compare is not None else None
    options_svg = charts.options_chart(options) if options is not None and len(options) else None
    budget_svg = None
    budget = (lead.solution.get("settings") or {}).get("budget")
    # one option's budget is marked on the sweep; with several, none is "this option"
    budget_mark = float(budget) if budget and len(pages) == 1 else None
    if sweep is not None and len(sweep):
        budget_svg = charts.reach_budget_chart(sweep, budget_mark)
    axis = charts.fitted_percent_axis(charts.sweep_percents(sweep)) \
        if sweep is not None and len(sweep) else (0.0, 100.0)
    ctx = {
        "title": _capital(f"{lead.la_name}: family centres consultation"), "la": lead.la_name,
        "pages": [p.ctx for p in pages], "multi": len(pages) > 1,
        "name": lead.name, "lead_title": lead.title, "facts": pages[0].ctx["facts"],
        "total_label": TOTAL, "threshold": threshold, "unknown_network": UNKNOWN_NETWORK,
        "area_columns": AREA_COLUMNS[1:], "equality_columns": EQUALITY_COLUMNS,
        "options_columns": [label for _c, label, _k in OPTION_COLUMNS],
        "options_rows": (_html_rows(options, OPTION_COLUMNS) if options is not None else []),
        "options_chart": options_svg is not None,
        "options_png": charts.options_chart(options, fmt="png") if options_svg else b"",
        "option_names": list(options["option"]) if options is not None else [],
        "budget_chart": budget_svg is not None,
        "budget_png": charts.reach_budget_chart(sweep, budget_mark, fmt="png")
        if budget_svg else b"",
        "budget_sentence": " ".join(x for x in (
            budget_sentence(sweep, service=lead.service_model), charts.axis_note(*axis)) if x),
        "notes": notes(lead, threshold, suppress), "glossary": glossary(lead),
        "ogl": OGL, "xlsx": XLSX_NAME, "sheets": SHEETS,
        "settings": lead.solution.get("settings") or {},
        "service_words": pages[0].ctx["service_words"], "modelled": lead.modelled_cases,
        "data_vintage": (lead.prepare.get("vintage")
                         if isinstance(lead.prepare.get("vintage"), dict) else None),
        "disclosure_control": disclosure_control,
    }
    index_html = env.get_template("index.html.j2").render(**ctx)
    pdf = render_pdf(env.get_template("pack_pdf.html.j2").render(**ctx, **pdf_images(ctx)))

    files: dict[str, str | bytes] = {"index.html": index_html, "pack.pdf": pdf}
    for page in pages:
        files.update(page.files)
    if options is not None:
        files["options_compared.csv"] = _csv_text(_safe_csv_text(options,
                                                                 ["option", "title", "notes"]))
    if budget_svg:
        files["charts/reach_by_budget.svg"] = budget_svg
    if options_svg:
        files["charts/options_compared.svg"] = options_svg
    meta = {
        "scenario": lead.name, "solved_folder": solved_dir.resolve().name,
        "threshold": threshold, "disclosure_control": disclosure_control,
        "suppressed_columns": list(suppress),
        "suppressed_cells": sum(p.suppressed for p in pages), "self_contained": self_contained,
        "modelled_cases": lead.modelled_cases, "area_polygons": pages[0].counts["areas"],
        "site_markers": pages[0].counts["sites"], "areas_drawn_as_circles": pages[0].circles,
        "localities": len(lead.localities), "funding": pages[0].funding,
        "options": [{"option": p.solved.name, "title": p.solved.title,
                     "folder": p.ctx["prefix"] or "."} for p in pages],
        "files": sorted([*files, "pack.json", *(p.ctx["prefix"] + GPKG_NAME for p in pages)]),
        "sheets": list(SHEETS),
    }
    files["pack.json"] = json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
    with atomic_output_dir(out, reads=reads) as tmp:
        for name, content in files.items():
            if isinstance(content, bytes):
                write_bytes(tmp / name, content)
            else:
                write_text(tmp / name, content)
        for page in pages:
            write_plan(page.solved, tmp / page.ctx["prefix"], threshold, suppress,
                       shapes=page.shapes.shapes)

    with atomic_output_dir(internal_dir, reads=reads) as tmp:
        for page in pages:
            full = page.internal.copy()
            full.insert(0, "locality", full.index.astype(str))
            write_csv(tmp / page.ctx["prefix"] / "localities_NOT_FOR_PUBLICATION.csv",
                      _safe_csv_text(full.reset_index(drop=True), ["locality", "district"]))
        write_text(tmp / "README.txt",
                   f"{NOT_FOR_PUBLICATION}\n\nThese tables are the analyst's exact figures, "
                   "without disclosure control: small counts of children in need and on "
                   "protection plans could identify families. Do not publish, e-mail outside "
                   f"the team or attach to a consultation. The publishable pack is {out.name}/."
                   "\n")
    seconds = time.perf_counter() - t0
    n_cells = meta["suppressed_cells"]
    return (f"pack written to {out} in {seconds:.1f} s: index.html, pack.pdf"
            + (f" ({_n(len(pages), 'option')})" if len(pages) > 1 else "")
            + f", map.html ({pages[0].counts['areas']} areas, {pages[0].counts['sites']} sites"
            f"{', self-contained' if self_contained else ''}), {XLSX_NAME}, CSVs; "
            f"{n_cells} cells suppressed (threshold {threshold}); "
            f"internal tables ({NOT_FOR_PUBLICATION}) in {internal_dir}")


def _capital(text: str) -> str:
    """The first letter a capital ("the county: ..." when the council is not known)."""
    return text[:1].upper() + text[1:]


def _slug(name: str) -> str:
    from optimiser.compare import _slug as slug

    return slug(name)


__all__ = ["build_pack"]
