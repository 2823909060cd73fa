"""Tests of the ocfkit framework core (a package: its module names stay apart from others)."""
