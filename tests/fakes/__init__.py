"""In-memory fakes of the ports in ``chalicelib.adapters`` (and of the repositories and the
search index). Tests and benchmarks only: nothing under ``chalicelib`` imports this package,
and each fake passes the same contract suite as its AWS implementation (``tests/contract``)."""
