"""Config loading: pydantic validation with errors that name the key and the YAML line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_agent.cli import main
from edge_agent.config import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "edge" / "agent.yaml"

MINIMAL = """\
agent_id: box-1
data_dir: state
cameras:
  - camera_id: door
    source:
      kind: video
      uri: clips/door.mp4
store:
  kind: local
  root: bucket
detector:
  model_path: models/m.onnx
"""


def test_example_config_is_valid() -> None:
    cfg = load_config(EXAMPLE)
    assert cfg.agent_id == "lobby-box-1"
    assert [c.camera_id for c in cfg.cameras] == ["lobby-entrance", "lobby-replay"]
    assert cfg.http.host == "127.0.0.1"


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "agent.yaml"
    path.parent.mkdir()
    path.write_text(MINIMAL)
    cfg = load_config(path)
    base = path.parent.resolve()
    assert cfg.data_dir == base / "state"
    assert cfg.store.root == base / "bucket"
    assert cfg.detector.model_path == base / "models" / "m.onnx"
    assert cfg.cameras[0].source.uri == str(base / "clips" / "door.mp4")
    # defaults fill in every part
    assert cfg.outbox.max_bytes > 0 and cfg.telemetry.batch_rows > 0 and cfg.cameras[0].gate.target_fps > 0


def test_errors_name_key_and_line() -> None:
    text = MINIMAL.replace("      kind: video", "      kind: vidoe").replace(
        "  root: bucket", "  root: bucket\n  colour: blue"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, "agent.yaml")
    problems = info.value.problems
    assert any(p.startswith("agent.yaml:6: cameras[0].source.kind:") for p in problems), problems
    assert "agent.yaml:11: store.colour: unknown key (check its spelling and indentation)" in problems


def test_semantic_errors_point_at_their_section() -> None:
    text = MINIMAL + "  threads: 0\n" + "http:\n  port: 99999\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "agent.yaml")
    assert any(p.startswith("agent.yaml:13: detector.threads:") for p in info.value.problems)
    assert any(p.startswith("agent.yaml:15: http.port:") for p in info.value.problems)


def test_duplicate_camera_ids_and_unsafe_ids_are_refused() -> None:
    dup = MINIMAL.replace("store:", "  - camera_id: door\n    source: {kind: video, uri: b.mp4}\nstore:")
    with pytest.raises(ConfigError, match="used twice"):
        parse_config(dup, "agent.yaml")
    with pytest.raises(ConfigError, match=r"cameras\[0\]\.camera_id"):
        parse_config(MINIMAL.replace("camera_id: door", "camera_id: ../etc"), "agent.yaml")


def test_yaml_syntax_error_has_a_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("agent_id: x\ncameras: [\n", "agent.yaml")
    assert info.value.problems[0].startswith("agent.yaml:3: not valid YAML")


def test_cli_validate_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate-config", str(EXAMPLE)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["valid"] is True
    assert summary["cameras"]["lobby-entrance"]["kind"] == "stream"

    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL.replace("agent_id: box-1", "agent_id: box-1\nagentid: typo"))
    assert main(["validate-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: agentid: unknown key" in err
    assert "Traceback" not in err

    assert main(["validate-config", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read the config file" in capsys.readouterr().err


def test_a_key_given_twice_is_an_error_naming_the_key_and_the_line() -> None:
    text = MINIMAL.replace(
        "      uri: clips/door.mp4\n",
        "      uri: clips/door.mp4\n    source:\n      kind: folder\n      uri: x\n",
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, "agent.yaml")
    [problem] = info.value.problems
    assert problem.startswith("agent.yaml:8: ")
    assert "duplicate key 'source' (first given on line 5)" in problem
    with pytest.raises(ConfigError, match=r"agent\.yaml:2: .*duplicate key 'agent_id'"):
        parse_config("agent_id: a\nagent_id: b\n", "agent.yaml")


def test_the_renamed_restart_keys_say_where_they_went() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(MINIMAL + "watchdog:\n  restart_initial_s: 2\n", "agent.yaml")
    [problem] = info.value.problems
    assert problem.startswith("agent.yaml:13: watchdog:")
    assert "restart_initial_s was replaced by cameras[].source.reconnect_initial_s" in problem
