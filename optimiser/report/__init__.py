"""Report: map, locality tables and consultation pack from a solved folder.

Modules (the pipeline inside the report):

- :mod:`~optimiser.report.solved`: read and check the solved folder;
- :mod:`~optimiser.report.locality_table`: the locality table (internal, then published);
- :mod:`~optimiser.report.disclosure`: primary and secondary suppression of small counts;
- :mod:`~optimiser.report.map`: the folium map; :mod:`~optimiser.report.offline`: inlining its
  scripts and styles so it opens with no network;
- :mod:`~optimiser.report.charts`: reach by IMD decile, reach against budget;
- :mod:`~optimiser.report.xlsx`: the formatted workbook;
- :mod:`~optimiser.report.static_map`: a static map per option, and
  :mod:`~optimiser.report.pdf`: the printable document (``pack.pdf``, WeasyPrint);
- :mod:`~optimiser.report.pack`: the consultation pack folder (``index.html`` and the rest): a
  page per option and the comparison.

Examples
--------
>>> build_pack("out/solved", "out/pack")  # doctest: +SKIP
'pack written to out/pack in 3.2 s: ...'
"""

from optimiser.report.pack import build_pack

__all__ = ["build_pack"]
