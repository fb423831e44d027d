"""Search: a sweep file's ``space`` and ``search`` blocks, run as an Optuna study on the pool.

HP Lab's store is the source of truth: Optuna keeps no storage of its own. Whenever a
study is needed (to ask for trials, to prune a run, to report on it) it is rebuilt in
memory from the store's runs (``study.rebuild``), so Optuna's samplers, pruners,
importance evaluators and figures work on real Optuna objects and nothing drifts.

- ``space``: the parsed space and search blocks (typed records, JSON round-trip) and
  how a trial's values become a config;
- ``samplers`` / ``pruners``: the registries (name -> Optuna object);
- ``study``: the study's record in the store, the rebuild, ``top_up`` (ask -> queue)
  and the report ``engine study`` prints;
- ``driver``: the hook a worker's store sink calls after each epoch (prune?) and at a
  run's end (top up), the same for the local pool and the Ray driver.
"""
