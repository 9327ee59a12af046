"""``classify_frame``: the ISNCSCI rules over many exams at once (numpy, and Numba when present).

The batch classifier is defined as "equal to the one-exam engine": it runs the same steps as
:mod:`cordtrial.isncsci.levels`, :mod:`~cordtrial.isncsci.impairment` and
:mod:`~cordtrial.isncsci.zpp` on arrays of exams, and its value categories and step tables are
computed from the one-exam engine's own functions. Property tests hold the two equal.

Modules, in the order the data flows:

* :mod:`~cordtrial.isncsci.batch.codes` -- cell codes and the value-category tables over them;
* :mod:`~cordtrial.isncsci.batch.encode` -- frame columns to cell codes;
* :mod:`~cordtrial.isncsci.batch.arrays` -- exams as code arrays, results as bit matrices;
* :mod:`~cordtrial.isncsci.batch.steps` -- the walk's steps as look-up tables;
* :mod:`~cordtrial.isncsci.batch.closed_form` -- exams without NT or flags, without a walk;
* :mod:`~cordtrial.isncsci.batch.walk` -- the level-by-level walk in numpy;
* :mod:`~cordtrial.isncsci.batch.jit` -- the same walk compiled with Numba (loaded by
  :mod:`~cordtrial.isncsci.batch.compiled` when first wanted);
* :mod:`~cordtrial.isncsci.batch.notation` -- packed results to worksheet notation;
* :mod:`~cordtrial.isncsci.batch.frame` -- ``classify_frame`` itself.
"""

from __future__ import annotations

from cordtrial.isncsci.batch.frame import BATCH_FIELDS, classify_frame

__all__ = ["BATCH_FIELDS", "classify_frame"]
