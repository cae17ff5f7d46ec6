"""Data quality as Great Expectations sees it: the standard's expectations as GX expectations and
GX's context and Checkpoints (`gx`), for the agreement test and the national data-quality gate,
whose suites are in `gate`. GX is imported lazily, and nothing on the per-return path imports
this package."""
