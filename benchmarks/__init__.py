"""Benchmarks, run from the repository root as modules: ``python -m benchmarks.suite``.

Each compares two things in one run and reports the ratio; the sources they measure on
come from ``sample_sources``, as the tests' do.
"""
