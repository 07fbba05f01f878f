"""Charts for the consultation pack (matplotlib, Agg backend, deterministic SVG).

- :func:`reach_by_decile_chart`: share of need-weighted children reached in each IMD decile,
  under today's network and under the plan (from ``solution.json`` ``change.by_imd_decile``);
- :func:`reach_budget_chart`: share reached against the annual budget, overall and in the most
  deprived fifth (IMD deciles 1-2), when a sweep table exists.

SVGs carry no date and a fixed hash salt, so the same figures give the same bytes.
"""

from __future__ import annotations

import io
import textwrap

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

_RC = {
    "svg.hashsalt": "family-centre-optimiser",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
BEFORE = "#9e9e9e"
AFTER = "#2166ac"
DEPRIVED = "#b2182b"


def _svg(fig: plt.Figure, fmt: str = "svg") -> str | bytes:
    """The figure as SVG text, or with ``fmt="png"`` as PNG bytes (for the PDF, which lays out
    a picture much faster than thousands of SVG paths)."""
    if fmt == "png":
        raw = io.BytesIO()
        fig.savefig(raw, format="png", dpi=150, metadata={"Software": None},
                    bbox_inches="tight")
        plt.close(fig)
        return raw.getvalue()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None},
                bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def reach_by_decile_chart(by_decile: pd.DataFrame, index: str = "IMD 2019",
                          fmt: str = "svg") -> str | bytes:
    """Grouped bars: share reached before and after, by IMD decile (1 = most deprived).

    Parameters
    ----------
    by_decile
        Columns ``imd_decile``, ``share_before``, ``share_after``.
    index
        The deprivation index the deciles are of (``"IMD 2019"``, ``"IMD 2025"``: the data
        vintage).
    fmt
        ``"svg"`` (text) or ``"png"`` (bytes, for the PDF).

    Returns
    -------
    str or bytes
        The SVG text, or the PNG bytes.
    """
    d = by_decile.sort_values("imd_decile")
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(7.5, 3.6))
        x = np.arange(len(d))
        if d["share_before"].notna().any():
            ax.bar(x - 0.2, 100 * d["share_before"], width=0.4, color=BEFORE,
                   label="Today's network")
            ax.bar(x + 0.2, 100 * d["share_after"], width=0.4, color=AFTER, label="This option")
        else:  # today's network unknown: no "before"
            ax.bar(x, 100 * d["share_after"], width=0.6, color=AFTER, label="This option")
        ax.set_xticks(x, [f"{int(v)}" for v in d["imd_decile"]])
        ax.set_xlabel(f"{index} decile (1 = most deprived 10% in England)")
        ax.set_ylabel("Need reached (%)")
        ax.set_ylim(0, 105)
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)
        ax.set_title("Share of need-weighted children reached, by deprivation", loc="left")
        return _svg(fig, fmt)


def fitted_percent_axis(values: pd.Series | np.ndarray | list[float]) -> tuple[float, float]:
    """Limits (in %) of a percent axis that fits the data: 5 points of margin, rounded out to
    tens, within 0 to 100 (so a curve from 55% to 92% is not flattened against 0-100%).

    >>> fitted_percent_axis([55.2, 80.0, 91.7])
    (50.0, 100.0)
    >>> fitted_percent_axis([2.0, 30.0])
    (0.0, 40.0)
    """
    v = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return 0.0, 100.0
    lo = max(0.0, np.floor((v.min() - 5) / 10) * 10)
    hi = min(100.0, np.ceil((v.max() + 5) / 10) * 10)
    return float(lo), float(max(hi, lo + 10))


def axis_note(lo: float, hi: float) -> str:
    """What a fitted percent axis shows, in words ('' for the full 0-100% axis).

    >>> axis_note(50, 100)
    'The vertical axis runs from 50% to 100%, not from zero, so the curve can be read.'
    """
    if lo <= 0 and hi >= 100:
        return ""
    return (f"The vertical axis runs from {lo:.0f}% to {hi:.0f}%"
            + (", not from zero, so the curve can be read." if lo > 0 else ", to fit the data."))


def sweep_percents(sweep: pd.DataFrame) -> pd.Series:
    """Every reach figure a sweep chart plots, in % (for :func:`fitted_percent_axis`)."""
    cols = [c for c in ("reach_share", "reach_share_deciles_1_2") if c in sweep.columns]
    return 100 * pd.concat([pd.to_numeric(sweep[c], errors="coerce") for c in cols])


def reach_budget_chart(sweep: pd.DataFrame, current_budget: float | None = None,
                       fmt: str = "svg") -> str | bytes:
    """Share reached against the annual budget (one point per solve of the sweep).

    Parameters
    ----------
    sweep
        Columns ``budget`` and ``reach_share``; optional ``reach_share_deciles_1_2`` and
        ``knee`` (true on the budget after which each extra pound buys least; marked).
    current_budget
        This option's budget, marked with a vertical line.
    """
    s = sweep.sort_values("budget")
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(7.5, 3.6))
        budget_m = s["budget"] / 1e6
        ax.plot(budget_m, 100 * s["reach_share"], marker="o", color=AFTER, label="All areas")
        none = s["reach_share"].isna()
        if none.any():  # a budget with no plan is marked, not dropped
            ax.plot(budget_m[none], np.zeros(int(none.sum())), linestyle="none", marker="x",
                    color="#b00020", clip_on=False, label="No plan at this budget")
        if "reach_share_deciles_1_2" in s.columns and s["reach_share_deciles_1_2"].notna().any():
            ax.plot(budget_m, 100 * s["reach_share_deciles_1_2"], marker="s", color=DEPRIVED,
                    label="Most deprived fifth (IMD deciles 1-2)")
        if "knee" in s.columns:
            knee = s[s["knee"].astype(str).str.lower().isin(["true", "1", "1.0"])]
            if len(knee):
                kx, ky = knee["budget"].iloc[0] / 1e6, 100 * knee["reach_share"].iloc[0]
                ax.annotate("knee: each extra £ buys less", (kx, ky), xytext=(0, -28),
                            textcoords="offset points", ha="center", fontsize=8,
                            arrowprops={"arrowstyle": "->", "color": "#555555"})
        if current_budget is not None and np.isfinite(current_budget):
            ax.axvline(current_budget / 1e6, color="#555555", linestyle="--", linewidth=1)
        lo, hi = fitted_percent_axis(sweep_percents(s))
        if current_budget is not None and np.isfinite(current_budget):
            ax.annotate("this option", (current_budget / 1e6, lo + 0.03 * (hi - lo)),
                        rotation=90, ha="right", va="bottom", fontsize=8, color="#555555")
        ax.set_xlabel("Annual budget (£ million)")
        ax.set_ylabel("Need reached (%)" + (f", axis from {lo:.0f}%" if lo > 0 else ""))
        ax.set_ylim(lo, hi)
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)
        ax.set_title("What each budget buys: share of need-weighted children reached",
                     loc="left")
        return _svg(fig, fmt)


ENVELOPE_COLOURS = {"centres_cost": "#2166ac", "outreach_cost": "#67a9cf",
                    "grants": "#ef8a62", "set_aside": "#8e6bb3", "unspent": "#e0e0e0"}


def options_figure(options: pd.DataFrame) -> plt.Figure:
    """Two panels per option: share of need reached (overall and IMD deciles 1-2), and the
    whole annual envelope split into centres, outreach, grants, set-asides and money not spent
    (:data:`optimiser.compare.ENVELOPE_PARTS`), so no option looks cheaper than it is.

    Parameters
    ----------
    options
        ``compare.csv`` rows: ``option`` (or ``title``), ``reach_share``; optional
        ``reach_share_deciles_1_2`` and the envelope columns (``envelope``, ``centres_cost``,
        ``outreach_cost``, ``grants``, ``set_aside``, ``unspent``; older tables: ``annual_cost``
        and ``extra_funding``).
    """
    from optimiser.compare import ENVELOPE_PARTS

    o = options.reset_index(drop=True)
    names = o["title"] if "title" in o.columns else o["option"]
    # "$" would start matplotlib's maths notation (and can fail to parse): draw it as text
    labels = ["\n".join(textwrap.wrap(str(v), 24)).replace("$", r"\$") for v in names]
    n = len(o)
    fig, (ax, money) = plt.subplots(1, 2, figsize=(11.5, max(3.2, 0.9 * n + 2.0)),
                                    gridspec_kw={"width_ratios": [1, 1.15]})
    y = np.arange(n)[::-1]
    overall = 100 * pd.to_numeric(o["reach_share"], errors="coerce")
    deprived = (100 * pd.to_numeric(o["reach_share_deciles_1_2"], errors="coerce")
                if "reach_share_deciles_1_2" in o.columns else pd.Series(np.nan, index=o.index))
    two = deprived.notna().any()
    h = 0.38 if two else 0.6
    ax.barh(y + (h / 2 if two else 0), overall.fillna(0), height=h, color=AFTER,
            label="All areas")
    if two:
        ax.barh(y - h / 2, deprived.fillna(0), height=h, color=DEPRIVED,
                label="Most deprived fifth (IMD deciles 1-2)")
    for i in range(n):
        text = "no plan" if not np.isfinite(overall.iloc[i]) else f"{overall.iloc[i]:.1f}%"
        ax.text(max(overall.fillna(0).iloc[i], 0) + 1, y[i] + (h / 2 if two else 0), text,
                va="center", fontsize=8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(0, 110)
    ax.set_xlabel("Share of need-weighted children reached (%)")
    ax.set_title("Need reached", loc="left")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=1,
              fontsize=8)

    parts = _envelope_parts(o)
    left = np.zeros(n)
    for col, label in ENVELOPE_PARTS:
        vals = parts[col].fillna(0).to_numpy() / 1e6
        if not vals.any():
            continue
        money.barh(y, vals, left=left, height=0.6, color=ENVELOPE_COLOURS[col], label=label,
                   edgecolor="white", linewidth=0.5)
        for i in range(n):
            if vals[i] >= 0.6:
                money.text(left[i] + vals[i] / 2, y[i], f"£{vals[i]:.1f}m", ha="center",
                           va="center", fontsize=7,
                           color="white" if col != "unspent" else "#333333")
        left += vals
    total = parts["envelope"].to_numpy(float) / 1e6
    for i in range(n):
        if np.isfinite(total[i]):
            money.text(left[i] + 0.1, y[i], f"£{total[i]:.2f}m a year", va="center",
                       fontsize=8)
    top = np.nanmax(np.append(total, left)) if n else 1.0
    money.set_xlim(0, (top if np.isfinite(top) and top > 0 else 1.0) * 1.28)
    money.set_yticks(y, [""] * n)
    money.set_xlabel("£ million a year")
    money.set_title("Where each option's money goes", loc="left")
    money.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=3,
                 fontsize=8)
    fig.tight_layout()
    return fig


def _envelope_parts(o: pd.DataFrame) -> pd.DataFrame:
    """The envelope columns, built from ``annual_cost`` and ``extra_funding`` for older
    tables that lack them (everything spent on centres; extra funding as set aside)."""
    cols = ["centres_cost", "outreach_cost", "grants", "set_aside", "unspent", "envelope"]
    if all(c in o.columns for c in cols):
        return o[cols].apply(pd.to_numeric, errors="coerce")
    cost = pd.to_numeric(o.get("annual_cost"), errors="coerce")
    extra = pd.to_numeric(o.get("extra_funding"), errors="coerce").fillna(0) \
        if "extra_funding" in o.columns else pd.Series(0.0, index=o.index)
    budget = pd.to_numeric(o.get("budget"), errors="coerce") if "budget" in o.columns \
        else cost
    out = pd.DataFrame({"centres_cost": cost, "outreach_cost": 0.0, "grants": 0.0,
                        "set_aside": extra, "unspent": (budget - cost).clip(lower=0)})
    out["envelope"] = budget.fillna(cost) + extra
    return out


def options_chart(options: pd.DataFrame, fmt: str = "svg") -> str | bytes:
    """:func:`options_figure` as SVG text (option names are drawn as outlines, so none
    reaches it as markup), or PNG bytes with ``fmt="png"``."""
    with plt.rc_context(_RC):
        return _svg(options_figure(options), fmt)


def years_chart(years: pd.DataFrame, fmt: str = "svg") -> str | bytes:
    """Bars: each year's spend against its budget (£m); line: the share of need-weighted
    children served that year, overall and in IMD deciles 1-2 (right axis, fitted to the data).

    Parameters
    ----------
    years
        Columns ``year``, ``budget``, ``annual_cost``, ``reach_share`` and, when known,
        ``reach_share_deprived`` (``years.csv`` of a multi-year plan).

    fmt
        ``"svg"`` (text) or ``"png"`` (bytes, for the PDF).

    Returns
    -------
    str or bytes
        The SVG text, or the PNG bytes.
    """
    y = years.sort_values("year")
    x = np.arange(len(y))
    with plt.rc_context({**_RC, "axes.spines.right": True}):
        fig, ax = plt.subplots(figsize=(7.5, 3.6))
        ax.bar(x - 0.18, y["budget"] / 1e6, width=0.36, color=BEFORE, label="budget")
        ax.bar(x + 0.18, y["annual_cost"] / 1e6, width=0.36, color=AFTER,
               label="spend (one-off costs included)")
        ax.set_xticks(x, [str(v) for v in y["year"]])
        ax.set_ylabel("£m a year")
        right = ax.twinx()
        shares = [y["reach_share"]]
        right.plot(x, 100 * y["reach_share"], color="black", marker="o", label="served")
        if "reach_share_deprived" in y and y["reach_share_deprived"].notna().all():
            shares.append(y["reach_share_deprived"])
            right.plot(x, 100 * y["reach_share_deprived"], color=DEPRIVED, marker="s",
                       label="served, IMD deciles 1-2")
        lo = min(float(s.min()) for s in shares)
        hi = max(float(s.max()) for s in shares)
        pad = max(0.02, (hi - lo) * 0.25)
        right.set_ylim(100 * max(0.0, lo - pad), 100 * min(1.0, hi + pad))
        right.set_ylabel("% of need-weighted children served\n(axis fitted to the data)")
        handles = ax.get_legend_handles_labels()
        more = right.get_legend_handles_labels()
        ax.legend(handles[0] + more[0], handles[1] + more[1], loc="upper center",
                  bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
        return _svg(fig, fmt)
