"""Training on a Dask cluster: iterative parameter mixing with sparse deltas, a distributed polish.

The estimators call :func:`~widecross.cluster.client.fit_dask_frame` when ``fit`` is given a
Dask DataFrame; nothing else in widecross imports this package, so Dask stays an optional extra
(``pip install widecross[dask]``).

- :mod:`.shard`: what a worker does with its partitions (pure functions of their inputs);
- :mod:`.mixed`: what each optimizer's state contributes to the merge (SGD's weights, FTRL's z, n);
- :mod:`.merge`: the per-coordinate weighted merge of the shards' deltas over a range of columns;
- :mod:`.ranges`: the columns cut into ranges, a shard's delta split by range (the reduce-scatter);
- :mod:`.driver`: the graph of rounds and its summaries;
- :mod:`.rangepolish`: the end-of-fit polish reduced by the merge's ranges (binary, one-vs-rest);
- :mod:`.polish`: its passes from the client (scalars only), and the softmax polish;
- :mod:`.sample`: a seeded sample of the rows (what ``l1="auto"`` chooses on);
- :mod:`.client`: the Dask client to use, and a DataFrame's partitions.
"""
