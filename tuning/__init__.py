"""The hyperparameter search behind tune.py, on Optuna: the search space read from the command line or a file and
checked against config.py (`space`), where a study lives and how its workers' heartbeats are kept (`storage`: SQLite,
any SQLAlchemy URL, a journal file), one trial as an ordinary train.py run folder whose epochs feed the pruner
(`trials`), the loop each worker runs on a shared study (`search`), and what a study found (`report`: its table,
best.json, plots). It imports config.py, models/runs.py and runkit/, never Keras: trials train in processes of
their own. Import from the modules."""
