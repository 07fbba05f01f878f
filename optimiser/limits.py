"""The largest plausible values of the numbers a user types, and why.

A number far beyond anything real is a typing error (a pasted county total, an extra run of
zeros, ``1e300``), and left in it breaks the solver: HiGHS reads coefficients of about 1e20 as
infinite, and the model's big-M terms multiply capacities and populations, so ``1e15`` ended in
an ``IndexError`` inside PuLP, and a budget of ``1e30`` gave a plan reaching *fewer* children
than a budget of £2m. Each limit below is far above the largest real value (so no real file is
refused) and far below where the arithmetic breaks. One place for them, so the instance, the
council's files, the scenario and the command line refuse the same values with the same words.

Examples
--------
>>> shown(1e30)
'1e+30'
>>> shown(1_500_000)
'1,500,000'
"""

from __future__ import annotations

import math

#: Pounds in any one amount (a budget, a site's cost, a floor or cap of a split): £10bn a
#: year. The largest English council spends about £3bn a year in all (Birmingham, gross, schools
#: included); a family-centre budget is tens of millions.
MAX_POUNDS = 10_000_000_000

#: Children in one area of an instance (``areas.csv`` ``population``). An LSOA holds about 1,500
#: people, some 350 children (ONS builds LSOAs of 1,000-3,000 residents), and the largest
#: upper-tier council, Kent, has under 400,000 children aged 0-19 (ONS mid-year estimates): a
#: million allows an instance whose areas are whole districts or counties.
MAX_AREA_CHILDREN = 1_000_000

#: Children a year one site serves (``capacity``): a children's centre or family hub serves a
#: few hundred to a few thousand children a year (the shipped defaults: 1,400 a hub, 560 a
#: spoke, scenarios/oxfordshire/costs.yaml); no site serves more children than the largest
#: county has. Leave the cell blank for no limit.
MAX_SITE_CAPACITY = 1_000_000

#: An area's ``need``: a multiplier averaging 1 over the county's children (``optimiser
#: prepare`` writes it; the neediest Oxfordshire area has about 3). A thousand times the
#: county's average is not a need index: it is usually a count or a score in the wrong column.
MAX_NEED = 1_000

#: Children in need (or on protection plans) in one LSOA of a council's cases file. An LSOA has
#: 1,000-3,000 residents by design and about 3% of children are children in need, so real counts
#: are in the tens; 10,000 is more than most councils' total (DfE, Children in need statistics),
#: so a larger number is a county total or a typing error.
MAX_CASES_PER_AREA = 10_000


#: Minutes of one trip in ``travel.csv``: a week. No trip within a county takes that long; a
#: pair that cannot be travelled is left out of the file (unlisted pairs are out of reach),
#: though a sentinel such as 9999 is still read as "too far".
MAX_MINUTES = 10_080


def shown(value: float) -> str:
    """A number as a message quotes it: with thousands commas while readable, else ``1e+30``."""
    if math.isfinite(value) and abs(value) < 1e12:
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.6g}"
    return f"{value:.3g}"
