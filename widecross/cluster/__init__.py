"""Training on a Dask cluster: iterative parameter mixing with sparse deltas, a distributed polish.

The estimators call :func:`~widecross.cluster.client.fit_dask_frame` when ``fit`` is given a
Dask DataFrame; nothing else in widecross imports this package, so Dask stays an optional extra
(``pip install widecross[dask]``).

- :mod:`.shard`: what a worker does with its partitions (pure functions of their inputs);
- :mod:`.merge`: the per-coordinate weighted merge of the shards' deltas;
- :mod:`.driver`: the graph of rounds, its summaries, and the polish run across the shards;
- :mod:`.client`: the Dask client to use, and a DataFrame's partitions.
"""
