"""The closed loop, end to end, with the real processes: ``python -m maskops_assets.demo``.

1. v1: the demo launches one ``maskops_main`` run through the daemon (``dagster job launch``):
   trained from scratch on domain A, gated, released by ``release_policy: auto``.
2. the edge agent (``maskops-edge``, its own process) watches domain-B clips; uncertain frames go
   through its outbox to the store; ``new_samples_sensor`` batches them; ``review_sync_sensor``
   launches ``labeling_tasks``, which puts them in Label Studio with v1's boxes.
3. a simulated annotator reviews them through Label Studio's API with the generator's ground truth;
   ``review_sync_sensor`` launches ``reviewed_labels``, which stores them as a label batch.
4. ``label_threshold_sensor`` launches the retraining (fine-tuned from the champion on base plus the
   new labels: ``MASKOPS_RETRAIN_RUN_CONFIG``); the gate passes; ``release_policy: auto`` ships it as
   canary; ``canary_watch_sensor`` compares canary and control telemetry and promotes it.
5. the agent hot-swaps to v2 without a restart.

The demo itself only starts processes, launches the first run, plays the annotator and watches the
Dagster instance and the agent's ``/healthz``: it never calls an asset or a sensor.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from maskops_assets.demo.annotator import SimulatedAnnotator, record_reader
from maskops_assets.demo.camera import make_clips, write_agent_config
from maskops_assets.demo.console import Console
from maskops_assets.demo.latency import TIMELINE
from maskops_assets.demo.processes import Supervisor
from maskops_assets.demo.report import Comparison, compare
from maskops_assets.demo.settings import JOB, DemoSettings
from maskops_assets.demo.watch import (
    RunFailed,
    StageTimeout,
    agent_health,
    finished,
    first_succeeded,
    latest_metadata,
    runs,
    serving,
    wait_for,
)
from maskops_assets.resources import REPO_ROOT

STAGES = 9
BIN = Path(sys.executable).parent
#: Entries of MASKOPS_HOME a new story starts without (moved to ``previous/<time>/``, never deleted).
STATE = (
    "store",
    "dagster_home",
    "mlflow",
    "dataset_repo",
    "dataset_repo-checkouts",
    "dvc_remote",
    "work",
    "demo",
)
#: Variables of the caller's shell the demo's processes do not inherit: the demo runs on embedded defaults.
FOREIGN_ENV = ("MASKOPS_", "DAGSTER_", "LABEL_STUDIO_", "MLFLOW_")
LABEL_STUDIO_TITLE = "maskops review"
TRIGGERS = ("label_threshold", "drift")


@dataclass
class Outcome:
    """What the story produced (the CI test and bench/loop_latency.py read it)."""

    settings: DemoSettings
    v1: str = ""
    v2: str = ""
    v1_run: str = ""
    retrain_run: str = ""
    promote_run: str = ""
    release_metadata: dict = field(default_factory=dict)
    health: dict = field(default_factory=dict)
    agent_pid: int = 0
    agent_log: Path | None = None
    label_landed_at: float = 0.0
    comparison: Comparison | None = None

    def timeline(self) -> dict:
        """What bench/loop_latency.py needs to split the loop's latency (``demo/timeline.json``)."""
        return {
            "label_landed_at": self.label_landed_at,
            "label_threshold": self.settings.label_threshold,
            "v1": self.v1,
            "v2": self.v2,
            "v1_run": self.v1_run,
            "retrain_run": self.retrain_run,
            "promote_run": self.promote_run,
            "canary_camera": self.settings.cameras[0],
            "agent_log": str(self.agent_log) if self.agent_log else "",
        }


def prepare_home(settings: DemoSettings, console: Console) -> None:
    """A fresh story under MASKOPS_HOME: an earlier demo's state moves to ``previous/<time>/``."""
    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    earlier = [home / name for name in STATE if (home / name).exists()]
    if earlier:
        keep = home / "previous" / time.strftime("%Y%m%d-%H%M%S")
        keep.mkdir(parents=True, exist_ok=True)
        for path in earlier:
            shutil.move(str(path), str(keep / path.name))
        console.say(f"an earlier story's state moved to {keep} (delete it when you no longer need it)")
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / "dagster.yaml", settings.dagster_home / "dagster.yaml")
    settings.demo_dir.mkdir(parents=True, exist_ok=True)


def base_environment(settings: DemoSettings, retrain_config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV)}
    env.update(settings.environment(retrain_config))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def read_labelstudio_token(data_dir: Path) -> str:
    """The legacy token scripts/labelstudio.sh bootstrapped (kept in its credentials file)."""
    for line in (data_dir / "maskops-credentials").read_text().splitlines():
        name, _, value = line.partition("=")
        if name == "SAVED_TOKEN":
            return shlex.split(value)[0]
    raise RuntimeError(f"no SAVED_TOKEN in {data_dir / 'maskops-credentials'}")


def log_says(path: Path, text: str) -> bool:
    try:
        return text in path.read_text(errors="replace")
    except OSError:
        return False


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def port_taken(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def check_ports(settings: DemoSettings) -> None:
    """Fail before starting anything when another server holds one of the demo's ports."""
    taken = [
        f"{name} port {port}"
        for name, port in (
            ("Dagster", settings.dagster_port),
            ("Label Studio", settings.labelstudio_port),
            ("edge agent", settings.agent_port),
        )
        if port_taken(port)
    ]
    if taken:
        raise RunFailed(
            f"something already answers on {', '.join(taken)} (another `make ui`, `make labelstudio` or "
            "demo?); stop it, or pick other ports (python -m maskops_assets.demo --help)"
        )


def drop_old_project(url: str, token: str) -> None:
    """A fresh store starts a fresh review queue: remove the previous story's project (if any)."""
    from maskops_assets.labelstudio.client import LabelStudioClient

    with LabelStudioClient(url, token) as client:
        project = client.find_project(LABEL_STUDIO_TITLE)
        if project is not None and int(project.get("task_number") or 0) > 0:
            client.request("DELETE", f"/api/projects/{project['id']}/")


class Story:
    """Runs the stages in order; every wait checks the processes and does the annotator's work."""

    def __init__(self, settings: DemoSettings, console: Console, supervisor: Supervisor) -> None:
        self.s = settings
        self.console = console
        self.sup = supervisor
        self.annotator: SimulatedAnnotator | None = None
        self.outcome = Outcome(settings)
        self._instance = None

    # --- plumbing ---
    @property
    def instance(self):
        if self._instance is None:
            import dagster as dg

            self._instance = dg.DagsterInstance.from_config(str(self.s.dagster_home))
        return self._instance

    def tick(self) -> None:
        self.sup.check()
        if self.annotator is not None:
            before = self.annotator.reviewed + self.annotator.skipped
            self.annotator.review_open_tasks()
            after = self.annotator.reviewed + self.annotator.skipped
            if after > before:
                self.console.say(
                    f"simulated annotator: {self.annotator.reviewed} frame(s) reviewed, "
                    f"{self.annotator.skipped} skipped (no face) in Label Studio"
                )
                if not self.outcome.label_landed_at and self.annotator.reviewed >= self.s.label_threshold:
                    self.outcome.label_landed_at = time.time()

    def wait(self, condition, what: str, timeout_s: float | None = None):
        return wait_for(condition, what, timeout_s or self.s.stage_timeout_s, self.tick)

    def stage(self, n: int, message: str, run_id: str | None = None, url: str = "") -> None:
        self.console.stage(
            n, STAGES, message, run_id=run_id, url=url or (self.s.run_url(run_id) if run_id else "")
        )

    # --- the story ---
    def run(self, env: dict[str, str], clips, agent_yaml: Path) -> Outcome:
        s = self.s
        ls = self.sup.start(
            "labelstudio",
            ["bash", str(REPO_ROOT / "scripts" / "labelstudio.sh")],
            env={
                **env,
                "LABEL_STUDIO_PORT": str(s.labelstudio_port),
                "LABEL_STUDIO_DATA_DIR": str(s.labelstudio_dir),
            },
            cwd=REPO_ROOT,
        )
        self.console.say(
            f"starting Label Studio on {s.labelstudio_url} (log {ls.log}; "
            "a first start migrates its database)"
        )
        # its token is written before the server starts: Dagster can start beside it
        credentials = s.labelstudio_dir / "maskops-credentials"
        self.wait(
            lambda: log_says(ls.log, "starting Label Studio") and credentials.exists(), "Label Studio", 900
        )
        token = read_labelstudio_token(s.labelstudio_dir)
        env.update(
            LABEL_STUDIO_URL=s.labelstudio_url,
            LABEL_STUDIO_API_KEY=token,
            LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(s.store_root),
        )
        dagster = self.sup.start(
            "dagster",
            [
                str(BIN / "dagster"),
                "dev",
                "-h",
                "127.0.0.1",
                "-p",
                str(s.dagster_port),
                "-w",
                "workspace.yaml",
                "--log-format",  # JSON service logs: no colour codes in the log file
                "json",
            ],
            env=env,
            cwd=REPO_ROOT,
        )
        self.console.say(
            f"starting dagster-daemon and dagster-webserver on {s.dagster_url} (log {dagster.log})"
        )
        self.wait(lambda: log_says(ls.log, "Label Studio is running"), "Label Studio", 900)
        drop_old_project(s.labelstudio_url, token)
        self.wait(lambda: answers(f"{s.dagster_url}/server_info"), "Dagster webserver", 300)
        self.stage(
            1, "Label Studio and Dagster (daemon + webserver + code location) are up", url=s.dagster_url
        )

        # 1. v1 from scratch on domain A, through the daemon's queue
        v1_run = self.launch(env, JOB, s.first_run_config(), s.first_run_tags(), "v1-run-config.yaml")
        self.stage(2, "v1: training from scratch on domain A, then gate and release (a few minutes)", v1_run)
        self.wait(lambda: finished(self.instance, v1_run), "v1 run")
        release = latest_metadata(self.instance, "deployment_release", v1_run)
        v1 = str(release.get("champion") or release.get("model_version"))
        self.outcome.v1, self.outcome.v1_run = v1, v1_run
        self.stage(2, f"v1 released: {v1} is the champion (release {release.get('release_id')})", v1_run)

        # 2. the camera box
        agent = self.sup.start(
            "edge-agent", [str(BIN / "maskops-edge"), "run", "--config", str(agent_yaml)], env=env
        )
        self.outcome.agent_pid, self.outcome.agent_log = agent.pid, agent.log
        started = time.time()
        self.wait(lambda: set(serving(agent_health(s.agent_url)).values()) == {v1}, f"agent serving {v1}")
        self.stage(
            3,
            f"edge agent (pid {agent.pid}) runs {v1} on {', '.join(s.cameras)}: domain-B clips",
            url=f"{s.agent_url}/healthz",
        )
        ingest = self.wait(
            lambda: first_succeeded(self.instance, after=started, job_name="ingest_job"), "ingest run"
        )
        self.stage(
            4, "uncertain frames arrived through the outbox; new_samples_sensor batched them", ingest.run_id
        )
        queue = self.wait(
            lambda: first_succeeded(self.instance, after=started, tags={"maskops/review_sync": "queue"}),
            "labeling_tasks run",
        )
        project = latest_metadata(self.instance, "labeling_tasks", queue.run_id)
        self.stage(
            5,
            f"labeling_tasks put {project.get('new_tasks')} frame(s) in Label Studio with v1's boxes "
            f"({project.get('label_studio')})",
            queue.run_id,
        )
        self.start_annotator(token, clips)

        # 3-4. reviews -> label batch -> retraining, launched by a sensor
        retrain = self.wait(lambda: self.retraining(started), "retraining launched by a sensor")
        self.stage(
            6,
            f"{retrain.tags.get('dagster/sensor_name')} launched the retraining: "
            f"{retrain.tags.get('maskops/trigger_reason')}",
            retrain.run_id,
        )
        self.wait(lambda: finished(self.instance, retrain.run_id), "retraining run", s.stage_timeout_s + 300)
        release = latest_metadata(self.instance, "deployment_release", retrain.run_id)
        v2 = str(release.get("model_version"))
        self.outcome.v2, self.outcome.retrain_run, self.outcome.release_metadata = v2, retrain.run_id, release
        self.stage(
            7,
            f"gate passed; {release.get('release_state')} (release {release.get('release_id')}): "
            f"{release.get('decision_reason', release.get('reason', ''))}",
            retrain.run_id,
        )
        if release.get("role") != "canary":
            raise RunFailed(f"the retrained model did not ship as canary: {release.get('release_state')}")

        # 5. canary watch promotes; the agent swaps without a restart
        canary_camera = s.cameras[0]
        self.wait(
            lambda: serving(agent_health(s.agent_url)).get(canary_camera) == v2, f"{canary_camera} on {v2}"
        )
        self.console.say(
            f"agent: canary camera {canary_camera} hot-swapped to {v2}; control cameras stay on {v1}"
        )
        promote = self.wait(lambda: self.verdict_run(started), "canary verdict")
        self.stage(8, f"canary_watch_sensor: {promote.tags.get('maskops/trigger_reason')}", promote.run_id)
        self.wait(lambda: finished(self.instance, promote.run_id), f"{promote.job_name} run")
        if promote.job_name != "promote_canary":
            raise RunFailed(
                f"the canary watch rolled {v2} back ({promote.run_id}); see canary_verdict in the UI"
            )
        self.outcome.promote_run = promote.run_id
        health = self.wait(lambda: self.all_on(v2), f"every camera on {v2}")
        self.outcome.health = health
        self.stage(
            9,
            f"agent pid {agent.pid} (up {health.get('uptime_s')} s, never restarted) "
            f"serves {v2} on every camera",
            url=f"{s.agent_url}/healthz",
        )
        return self.outcome

    def launch(self, env: dict[str, str], job: str, run_config: dict, tags: dict, name: str) -> str:
        """Submit one run to the daemon's queue (the CLI a person would use); returns its id."""
        config = self.s.demo_dir / name
        config.write_text(yaml.safe_dump(run_config, sort_keys=False))
        run_id = str(uuid.uuid4())
        command = [
            str(BIN / "dagster"),
            "job",
            "launch",
            "-w",
            "workspace.yaml",
            "-j",
            job,
            "-c",
            str(config),
            "--tags",
            json.dumps(tags),
            "--run-id",
            run_id,
        ]
        done = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RunFailed(f"dagster job launch {job} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        return run_id

    def start_annotator(self, token: str, clips) -> None:
        from maskops_assets.labelstudio.client import LabelStudioClient
        from maskops_assets.store import LocalObjectStore

        client = LabelStudioClient(self.s.labelstudio_url, token)
        project = client.find_project(LABEL_STUDIO_TITLE)
        if project is None:
            raise RunFailed(f"no project {LABEL_STUDIO_TITLE!r} in Label Studio after labeling_tasks ran")
        reader = record_reader(LocalObjectStore(self.s.store_root))
        self.annotator = SimulatedAnnotator(client, int(project["id"]), clips, reader)
        self.console.say(
            f"simulated annotator (a simulation of a reviewer) starts on {self.s.labelstudio_url}/projects/"
            f"{project['id']}/data, submitting the generator's ground truth through Label Studio's API"
        )

    def retraining(self, after: float):
        for run in runs(self.instance, job_name=JOB, after=after):
            if run.tags.get("maskops/trigger") in TRIGGERS:
                return run
        return None

    def verdict_run(self, after: float):
        """The first promote or rollback the canary watch launched after ``after``."""
        for job in ("promote_canary", "rollback_release"):
            for run in runs(self.instance, job_name=job, after=after):
                if run.tags.get("maskops/trigger") == "canary_watch":
                    return run
        return None

    def all_on(self, version: str) -> dict | None:
        health = agent_health(self.s.agent_url)
        on = serving(health)
        return health if on and set(on.values()) == {version} else None


def where_to_look(settings: DemoSettings, outcome: Outcome) -> str:
    from maskops_assets.resources import MlflowResource

    tracking = MlflowResource().resolved_tracking_uri()
    lines = [
        "Where to look (the state stays in var/):",
        f"  Dagster UI   : make ui -> {settings.dagster_url}",
        "                 Runs: the tags say which sensor launched each run; Automation: the sensors' ticks;",
        "                 Assets > deployment_release: the lineage from ingest batches to the release",
        f"  MLflow       : .venv/bin/mlflow ui --backend-store-uri {tracking} -> http://127.0.0.1:5000",
        f"  Label Studio : make labelstudio -> {settings.labelstudio_url} (reviews, model's boxes)",
        "  drift report : Dagster UI > Assets > drift_report (hourly; or launch drift_report_job)",
        f"  picture      : {outcome.comparison.picture if outcome.comparison else '(not drawn)'}",
        f"  logs         : {settings.demo_dir / 'logs'}",
    ]
    return "\n".join(lines)


def run_demo(settings: DemoSettings, console: Console | None = None, *, report: bool = True) -> Outcome:
    """The whole story; stops every process it started on the way out (Ctrl-C included)."""
    console = console or Console()
    settings = settings.model_copy(update={"home": settings.home.resolve()})
    prepare_home(settings, console)
    console.say(f"MASKOPS_HOME={settings.home}  DAGSTER_HOME={settings.dagster_home}")
    cache = settings.home / "demo-cache"
    console.say(f"generating {len(settings.cameras)} domain-B camera clips of {settings.clip_frames} frames")
    clips = make_clips(settings, cache / "clips")
    retrain_config = settings.demo_dir / "retrain-run-config.yaml"
    retrain_config.write_text(yaml.safe_dump(settings.retrain_run_config(), sort_keys=False))
    agent_yaml = write_agent_config(settings, clips, settings.demo_dir)
    env = base_environment(settings, retrain_config)
    # this process reads the same instance and store as the ones it starts
    saved = {name: os.environ.get(name) for name in ("DAGSTER_HOME", "MASKOPS_HOME")}
    os.environ.update(DAGSTER_HOME=str(settings.dagster_home), MASKOPS_HOME=str(settings.home))
    try:
        return _run(settings, console, clips, agent_yaml, env, report)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run(
    settings: DemoSettings, console: Console, clips, agent_yaml: Path, env: dict, report: bool
) -> Outcome:
    cache = settings.home / "demo-cache"
    check_ports(settings)
    with Supervisor(settings.demo_dir / "logs") as supervisor:
        story = Story(settings, console, supervisor)
        try:
            outcome = story.run(env, clips, agent_yaml)
        except (StageTimeout, RunFailed) as err:
            console.say(f"STOPPED: {err}. Logs: {settings.demo_dir / 'logs'}; runs: {settings.dagster_url}")
            raise
        finally:
            # what was reached, for bench/loop_latency.py (a rolled-back canary still swapped once)
            (settings.demo_dir / TIMELINE).write_text(json.dumps(story.outcome.timeline(), indent=2))
            if story._instance is not None:
                story._instance.dispose()
        if report:
            from maskops_assets.store import LocalObjectStore

            console.say("scoring v1 and v2 on held-out domain B and domain A (the gate's edge pipeline)")
            outcome.comparison = compare(
                LocalObjectStore(settings.store_root),
                (outcome.v1, outcome.v2),
                cache / "report",
                n_images=settings.eval_images,
                seed=settings.eval_seed,
                imgsz=settings.imgsz,
                say=console.say,
            )
        stopped = supervisor.stop_all()
        console.say(f"stopped {', '.join(stopped)}")
    if outcome.comparison is not None:
        console.block(
            "\n".join(["", "v1 against v2 (held-out generated images):", *outcome.comparison.lines()])
        )
    console.block("\n" + where_to_look(settings, outcome))
    return outcome
