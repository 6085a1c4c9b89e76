"""Helpers the production-profile tests share (importable: pytest puts this folder on sys.path)."""


class ReportingObjective:
    """A toy Optuna objective for worker tests (picklable: spawned workers import this module).

    It reports ``value`` at steps 0..``steps``-1 (so a pruner can act), records which process ran
    the trial, and returns ``value`` plus the sampled ``x`` scaled to stay below 1.
    """

    def __init__(self, value: float, steps: int = 2) -> None:
        self.value = value
        self.steps = steps

    def __call__(self, trial) -> float:
        import os

        import optuna

        x = trial.suggest_float("x", 0.0, 1.0)
        trial.set_user_attr("pid", os.getpid())
        for step in range(self.steps):
            trial.report(self.value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return self.value + x / 1000
