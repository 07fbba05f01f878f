"""The optimisation model (a MILP in PuLP; HiGHS by default, CBC selectable).

- :mod:`~optimiser.model.formulation`: :class:`FamilyCentreModel` (formulation in its docstring)
- :mod:`~optimiser.model.budget`: the annual cost and **the budget constraint**
- :mod:`~optimiser.model.policy`: policy constraints (floors, counts, separation, tiers, ...)
- :mod:`~optimiser.model.objectives`: max_reach, min_cost, max_min_locality, evaluate
- :mod:`~optimiser.model.prune`: the tie-break made exact (drop sites reaching no one extra)
- :mod:`~optimiser.model.explain`: why a scenario is infeasible, in words
"""

from optimiser.model.data import ModelData, ModelSettings
from optimiser.model.formulation import FamilyCentreModel, ModelResult

__all__ = ["FamilyCentreModel", "ModelData", "ModelResult", "ModelSettings"]
