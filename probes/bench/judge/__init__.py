"""Every judgement servebench makes, in one place: how far to trust a run (quality.py), why it caps
(rules.py over figures.py), what concurrency inside a worker would do (concurrency.py), what runs show
together (across_runs.py: scaling.py and usl.py over worker counts, knee.py over connections), whether B
is faster than A (compare.py), and every sentence that says so (wording/). Nothing else decides."""
