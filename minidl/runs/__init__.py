"""Config-driven runs: a YAML file in, a run folder out.

- ``config``        YAML loading, ``--set`` overrides, schema validation (``ConfigError``)
- ``job_config``    the main job's config: its schema, and the model, optimizer and scheduler it builds
- ``job``           one training job: run folder, metrics, checkpoints, resume
- ``folder``        run folders: create, config.yaml, summary.json, metrics.csv
- ``sweep_runner``  a grid of training jobs in parallel
- ``executors``     where a sweep's points run: local processes or Dask
- ``study_grid``    the few networks of a study, trained through the sweep runner
- ``cli``           the command line every study shares

Nothing is imported here: each module is loaded when used.
"""
