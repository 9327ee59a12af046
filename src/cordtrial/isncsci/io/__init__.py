"""File input and output for the ISNCSCI engine: dialects, readers and writers, streamed runs.

Unlike the pure engine (:mod:`cordtrial.isncsci`), this subpackage may use pandas and pyarrow.
"""
