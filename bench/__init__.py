"""Benchmarks of sheetsync at organisation scale (speed, memory, Google API calls): `python -m bench`."""
