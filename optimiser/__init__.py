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
"""

__version__ = "0.1.0"
