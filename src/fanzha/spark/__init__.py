"""`fanzha spark JOB`: the investigations that must see the whole log, on Apache Spark over the
Parquet lake, with the same Arrow/Polars functions as the embedded path (one module per job).

- `number_features`: the fraud-number model's sliding-window features of every leg (training
  data for SIM-farm and fake customer-service numbers);
- `trace`: every police case's money traced through up to three levels of mule accounts, and
  what an emergency freeze can still hold;
- `mules`: every account's mule score, label and reasons;
- `rings`: every registered or ordering account's ring, lockstep block, score and label;
- `leaks`: for one fraud type, the touchpoints its victims passed, with the counts and p-values
  the leak-source ranking starts from.
"""

JOBS = ("number-features", "trace", "mules", "rings", "leaks")
