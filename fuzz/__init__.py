"""Fuzzing ndpmon: frame mutations (frames.py), the per-frame path under test (harness.py)
and the long run (run_long.py). See SECURITY.md."""
