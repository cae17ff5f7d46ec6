"""Data quality as Great Expectations sees it: the standard's expectations as GX suites (`gx`),
for the agreement test and the national data-quality gate. GX is imported lazily, and nothing
on the per-return path imports this package."""
