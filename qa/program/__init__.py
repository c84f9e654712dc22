"""The QA program: scorecards, automatic proposals, calibration between reviewers, and disputes.

Pure modules (``scorecard``, ``selection``, ``checks``, ``agreement_stats``, ``calibration_stats``) hold the rules
and formulas and import no database code; the storage modules (``store``, ``reviews``, ``autoqa``,
``calibration``, ``disputes``) read with a ``Connection`` and write with the ``Engine`` like the rest of ``qa``.
"""
