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


def _svg(fig: plt.Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None},
                bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def reach_by_decile_chart(by_decile: pd.DataFrame, index: str = "IMD 2019") -> str:
    """Grouped bars: share reached before and after, by IMD decile (1 = most deprived).

    Parameters
    ----------
    by_decile
        Columns ``imd_decile``, ``share_before``, ``share_after``.
    index
        The deprivation index the deciles are of (``"IMD 2019"``, ``"IMD 2025"``: the data
        vintage).

    Returns
    -------
    str
        The SVG text.
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
        return _svg(fig)


def reach_budget_chart(sweep: pd.DataFrame, current_budget: float | None = None) -> str:
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
            ax.annotate("this option", (current_budget / 1e6, 3), rotation=90, ha="right",
                        va="bottom", fontsize=8, color="#555555")
        ax.set_xlabel("Annual budget (£ million)")
        ax.set_ylabel("Need reached (%)")
        ax.set_ylim(0, 105)
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)
        ax.set_title("What each budget buys: share of need-weighted children reached",
                     loc="left")
        return _svg(fig)


def options_chart(options: pd.DataFrame) -> str:
    """Bars per option: share reached overall and in IMD deciles 1-2, annual cost written above.

    Parameters
    ----------
    options
        Columns ``option``, ``reach_share``; optional ``reach_share_deciles_1_2``,
        ``annual_cost`` and ``extra_funding`` (e.g. community grants outside the model).

    Returns
    -------
    str
        The SVG text (option names are drawn as outlines, so none reaches it as markup).
    """
    o = options.reset_index(drop=True)
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(max(6.0, 1.8 * len(o) + 2.5), 3.8))
        x = np.arange(len(o))
        overall = 100 * pd.to_numeric(o["reach_share"], errors="coerce")
        deprived = (100 * pd.to_numeric(o["reach_share_deciles_1_2"], errors="coerce")
                    if "reach_share_deciles_1_2" in o.columns else None)
        if deprived is not None and deprived.notna().any():
            ax.bar(x - 0.2, overall.fillna(0), width=0.4, color=AFTER, label="All areas")
            ax.bar(x + 0.2, deprived.fillna(0), width=0.4, color=DEPRIVED,
                   label="Most deprived fifth (IMD deciles 1-2)")
            top = np.fmax(overall.fillna(0), deprived.fillna(0))
        else:
            ax.bar(x, overall.fillna(0), width=0.6, color=AFTER, label="All areas")
            top = overall.fillna(0)
        for i, row in o.iterrows():
            cost = pd.to_numeric(pd.Series([row.get("annual_cost")]), errors="coerce").iloc[0]
            extra = pd.to_numeric(pd.Series([row.get("extra_funding")]), errors="coerce").iloc[0]
            if not np.isfinite(overall.iloc[i]):
                text = "no plan"
            else:
                text = f"£{cost / 1e6:.2f}m a year" if np.isfinite(cost) else ""
                if np.isfinite(extra) and extra > 0:
                    text += f"\n+ £{extra / 1e6:.2f}m grants"
            ax.text(i, float(top.iloc[i]) + 2, text, ha="center", va="bottom", fontsize=8)
        # "$" would start matplotlib's maths notation (and can fail to parse): draw it as text
        labels = ["\n".join(textwrap.wrap(str(v), 22)).replace("$", r"\$") for v in o["option"]]
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_ylabel("Need reached (%)")
        ax.set_ylim(0, 118)
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncols=2)
        ax.set_title("Options compared: share of need-weighted children reached", loc="left")
        return _svg(fig)
