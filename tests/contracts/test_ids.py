import pytest

from maskops_contracts import ContractError, model_key, sample_key, telemetry_key, validate_id


@pytest.mark.parametrize(
    "good", ["cam-1", "lobby_cam.2", "v3", "mask-2026.11.23", "a1b2c3d4e5f6", "host:8554"]
)
def test_safe_ids_pass(good):
    assert validate_id(good, "camera_id") == good


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "..",
        "../etc",
        "a/b",
        "a\\b",
        "/abs",
        "C:\\x",
        "with space",
        "tab\there",
        "new\nline",
        "nul\x00",
        "bell\x07",
        "\x7f",
        "-leading",
        ".hidden",
        "x" * 129,
        5,
        None,
    ],
)
def test_unsafe_ids_are_rejected_naming_the_field(bad):
    with pytest.raises(ContractError) as err:
        validate_id(bad, "camera_id")
    assert err.value.field == "camera_id"


def test_key_builders_refuse_unsafe_parts():
    with pytest.raises(ContractError, match="camera_id"):
        sample_key("../x", "2026-11-23", "abc", "jpg")
    with pytest.raises(ContractError, match="batch_id"):
        telemetry_key("cam", "2026-11-23", "a/b")
    with pytest.raises(ContractError, match="date"):
        telemetry_key("cam", "23/11/2026", "b1")
    assert model_key("v3") == "models/v3/model.onnx"
