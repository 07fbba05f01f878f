"""Needs-based service-location optimiser for children's family centres.

Pipeline (each stage a module, a CLI command and a folder of files)::

    official data --prepare--> instance --solve(scenario)--> solution --report--> map, tables, pack

Where to look:

- data acquisition: :mod:`optimiser.sources` (manifest, download, mirror), :mod:`optimiser.convert`
  (official layouts to canonical tables), :mod:`optimiser.loaders` (validated readers)
- data vintages: :mod:`optimiser.vintage` (IoD 2025 on LSOA 2021, the default; IMD 2019 on
  LSOA 2011), :mod:`optimiser.loaders2025`, :mod:`optimiser.convert2025`,
  :mod:`optimiser.crosswalk` (the council's LSOA 2011 files carried to LSOA 2021)
- the instance format: :mod:`optimiser.instance`
- the need index: :mod:`optimiser.need`
- the optimisation model and the budget constraint: :mod:`optimiser.model`
- outputs: :mod:`optimiser.solution`, :mod:`optimiser.report`
- in a notebook: :func:`prepare`, :func:`solve`, :func:`report` and :class:`Plan`
  (:mod:`optimiser.api`): DataFrames in and out, no folders unless asked

Examples
--------
>>> import optimiser as opt
>>> sorted(opt.__all__)
['Plan', 'prepare', 'report', 'solve']
"""

import sys
import types
from typing import Any

__version__ = "0.1.0"
__all__ = ["Plan", "prepare", "report", "solve"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so the command line (``optimiser --help``) stays quick.
    if name in __all__:
        from optimiser import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'optimiser' has no attribute {name!r}")


class _Package(types.ModuleType):
    """``opt.prepare``, ``opt.solve`` and ``opt.report`` are the notebook functions, although
    modules of those names exist: importing a submodule sets it as an attribute of its package,
    which would hide the function, so that one assignment is skipped here. The modules are
    imported as always (``from optimiser.solve import solve_scenario``; ``sys.modules``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in __all__ and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
