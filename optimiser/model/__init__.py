"""The optimisation model (a MILP in PuLP; HiGHS by default, CBC selectable).

- :mod:`~optimiser.model.formulation`: :class:`FamilyCentreModel` (formulation in its docstring)
- :mod:`~optimiser.model.reach`: who a site serves: the service model (capacity, take-up falling
  with travel time, assignment) and the coverage model
- :mod:`~optimiser.model.objectives`: one class per objective (max_reach, min_cost,
  max_min_locality, evaluate)
- :mod:`~optimiser.model.rules`: one class per rule (the budget cap and the policy constraints),
  each with its rows, its check on a plan and its relaxation
- :mod:`~optimiser.model.budget`: the annual cost of a plan
- :mod:`~optimiser.model.prune`: the tie-break made exact (drop sites serving no one extra)
- :mod:`~optimiser.model.explain`: why a scenario is infeasible, in words
"""

from optimiser.model.data import ModelData, ModelSettings
from optimiser.model.formulation import FamilyCentreModel, ModelResult

__all__ = ["FamilyCentreModel", "ModelData", "ModelResult", "ModelSettings"]
