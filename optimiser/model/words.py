"""Numbers and names the way a council report writes them (for explanations and notes).

Examples
--------
>>> money(2_400_000), money(950_000), money(12_500)
('£2.4m', '£950k', '£12,500')
>>> pct(0.5), pct(0.125)
('50%', '12.5%')
>>> plural(1, "site"), plural(1200, "outreach worker"), plural(2, "locality", "localities")
('1 site', '1,200 outreach workers', '2 localities')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from optimiser.model.formulation import FamilyCentreModel


def money(x: float) -> str:
    """Pounds the way a council report writes them."""
    if abs(x) >= 1e6:
        return f"£{x / 1e6:.3g}m" if abs(x) < 1e8 else f"£{x / 1e6:,.0f}m"
    if abs(x) >= 1e5:
        return f"£{x / 1e3:.0f}k"
    if abs(x) < 1000 and abs(x - round(x)) > 1e-9:
        return f"£{x:,.2f}"
    return f"£{x:,.0f}"


def pct(x: float) -> str:
    """A share as a percentage, whole when it is whole."""
    return f"{100 * x:.0f}%" if abs(100 * x - round(100 * x)) < 1e-9 else f"{100 * x:.1f}%"


def plural(k: float, one: str, many: str | None = None) -> str:
    """A count and its noun, agreeing in number ('1 site', '2 sites')."""
    k = round(k)
    return f"{k:,} {one if k == 1 else (many or one + 's')}"


def site_names(model: FamilyCentreModel, idx) -> str:
    """'Name (id), ...' for site positions."""
    names = []
    inst = model.instance
    for j in idx:
        sid = model.data.site_ids[j]
        if inst is not None and "name" in inst.sites.columns:
            name = str(inst.sites["name"].iloc[j])
            names.append(f"{name} ({sid})" if name != sid else sid)
        else:
            names.append(sid)
    return ", ".join(names)


def threshold_words(model: FamilyCentreModel) -> str:
    """'20 minutes' or '20 / 30 minutes': how far a site serves from."""
    t = np.unique(model.data.limits)
    if len(t) == 1:
        return f"{t[0]:g} minutes"
    return " / ".join(f"{v:g}" for v in t) + " minutes"
