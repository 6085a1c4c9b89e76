"""A tiny code location for the queued-run tests: a sensor requests three runs of a job whose one
op waits until the test releases it (a file named after the run appears), so the test decides when
each run ends and can look at the queue while runs are in progress; no timing involved."""

import os
import time
from pathlib import Path

import dagster as dg

#: the run tag naming each requested run (the gate file has this name)
NAME_TAG = "maskops-test/name"
KIND_TAG = "maskops/kind"
#: the runs the sensor requests, in order, with the kind each carries
RUNS = {"train-a": "training", "train-b": "training", "ingest-c": "ingest"}


@dg.op
def wait_for_release(context: dg.OpExecutionContext) -> str:
    name = context.run.tags[NAME_TAG]
    gate = Path(os.environ["MASKOPS_TEST_GATE_DIR"]) / name
    print(f"{name}: waiting for {gate}")
    deadline = time.monotonic() + 600
    while not gate.exists():
        if time.monotonic() > deadline:
            raise dg.Failure(f"{name} was never released ({gate})")
        time.sleep(0.2)
    print(f"{name}: released")
    return name


@dg.job
def gated_job():
    wait_for_release()


@dg.sensor(job=gated_job, minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.RUNNING)
def three_runs(context: dg.SensorEvaluationContext):
    for name, kind in RUNS.items():
        # run_key: each is requested once, however often the sensor ticks
        yield dg.RunRequest(run_key=name, tags={NAME_TAG: name, KIND_TAG: kind})


defs = dg.Definitions(jobs=[gated_job], sensors=[three_runs])
