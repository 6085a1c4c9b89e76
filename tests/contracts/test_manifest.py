import json

import pytest

from maskops_contracts import CanaryModel, ContractError, ModelRef, ReleaseManifest
from maskops_contracts.manifest import canary_bucket

SHA_A = "a" * 64
SHA_B = "b" * 64


def manifest(**canary):
    return ReleaseManifest(
        release_id="rel-2",
        champion=ModelRef("v1", "models/v1/model.onnx", SHA_A, imgsz=320),
        canary=CanaryModel("v2", "models/v2/model.onnx", SHA_B, **canary) if canary else None,
        previous_release_id="rel-1",
    )


def test_round_trip():
    m = manifest(cameras=("cam-a",), percentage=10.0)
    assert ReleaseManifest.from_json(m.to_json()) == m
    assert json.loads(m.to_json())["canary"]["cameras"] == ["cam-a"]


def test_canary_membership_by_list_and_by_stable_percentage():
    m = manifest(cameras=("cam-a",))
    assert m.model_for("cam-a").model_version == "v2"
    assert m.model_for("cam-b").model_version == "v1"

    half = manifest(percentage=50.0)
    cams = [f"cam-{i}" for i in range(400)]
    inside = [c for c in cams if half.model_for(c).model_version == "v2"]
    assert 150 < len(inside) < 250  # a hash, so roughly half
    assert inside == [c for c in cams if half.model_for(c).model_version == "v2"]  # stable
    assert all(0 <= canary_bucket(c) < 100 for c in cams)
    # the same on every machine and in every process (a salted hash() would differ): pinned values
    assert canary_bucket("cam-1") == pytest.approx(12.16445208362947)
    assert canary_bucket("cam-a") == pytest.approx(60.297404358846975)
    assert manifest(percentage=0.0).model_for("cam-1").model_version == "v1"
    assert manifest(percentage=100.0).model_for("cam-1").model_version == "v2"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["champion"].update(sha256="abc"), "champion.sha256"),
        (lambda d: d["champion"].pop("uri"), "champion.uri"),
        (lambda d: d["canary"].update(cameras=["../x"]), "canary.cameras[0]"),
        (lambda d: d["canary"].update(cameras=[], percentage=None), "canary.cameras"),
        (lambda d: d["canary"].update(percentage=150), "canary.percentage"),
        (lambda d: d.update(release_id="a b"), "release_id"),
        (lambda d: d.pop("champion"), "champion"),
    ],
)
def test_invalid_manifest_names_the_field(mutate, field):
    data = manifest(cameras=("cam-a",)).to_dict()
    mutate(data)
    with pytest.raises(ContractError) as err:
        ReleaseManifest.from_dict(data, source="releases/manifest.json")
    assert err.value.field == field
    assert "releases/manifest.json" in str(err.value)


def test_sha256_file_matches_hashlib_across_chunk_boundaries(tmp_path):
    import hashlib

    from maskops_contracts import sha256_file

    data = bytes(range(256)) * (5 * 4096 + 17)  # about 5 MiB: several 1 MiB chunks and a tail
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert sha256_file(str(path)) == sha256_file(path)
