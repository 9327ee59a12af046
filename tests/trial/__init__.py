"""Tests of cordtrial.trial."""
