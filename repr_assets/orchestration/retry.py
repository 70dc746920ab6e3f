"""The retry policy of the steps that read and write files."""

import dagster as dg

# For steps whose input was checked upstream (encoding, publishing): a failure there is a
# file busy or a disk hiccup, worth another try, and every write is a single commit, so a
# retry never duplicates rows. Ingest and featurising are left out: their failures are
# mostly bad input, which must be reported at once, not retried.
IO_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)
