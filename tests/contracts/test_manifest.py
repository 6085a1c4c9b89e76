import json

import pytest

from maskops_contracts import CanaryModel, ContractError, ModelRef, ModelVariant, ReleaseManifest
from maskops_contracts.manifest import (
    DEFAULT_SHADOW_FRAME_SHARE,
    MANIFEST_SCHEMA_VERSION,
    ShadowModel,
    canary_bucket,
)

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


# ---------------------------------------------------------------- model variants
def variant(precision="fp32", runtime="openvino", sha256=SHA_A, **scores):
    return ModelVariant(precision, runtime, "models/v1/model.onnx", sha256, **scores)


def with_variants(*variants, **canary):
    m = manifest(**canary)
    return ReleaseManifest(
        release_id=m.release_id,
        champion=ModelRef("v1", "models/v1/model.onnx", SHA_A, imgsz=320, variants=variants),
        canary=m.canary,
        previous_release_id=m.previous_release_id,
    )


def test_variants_round_trip_in_the_champion_and_the_canary():
    m = with_variants(variant(map50=0.91, map50_95=0.6), variant("bf16", map50=0.905), cameras=("cam-a",))
    canary = CanaryModel(
        "v2", "models/v2/model.onnx", SHA_B, variants=(variant(sha256=SHA_B),), cameras=("cam-a",)
    )
    m = ReleaseManifest(release_id="rel-3", champion=m.champion, canary=canary)
    parsed = ReleaseManifest.from_json(m.to_json())
    assert parsed == m
    assert parsed.champion.variants[1] == ModelVariant(
        precision="bf16", runtime="openvino", uri="models/v1/model.onnx", sha256=SHA_A, map50=0.905
    )
    assert json.loads(m.to_json())["champion"]["variants"][0] == {
        "precision": "fp32",
        "runtime": "openvino",
        "uri": "models/v1/model.onnx",
        "sha256": SHA_A,
        "map50": 0.91,
        "map50_95": 0.6,
    }
    assert parsed.canary is not None and parsed.canary.variants == (variant(sha256=SHA_B),)


def test_measured_precisions_per_runtime_and_fp32_for_a_manifest_without_variants():
    ref = with_variants(variant(), variant("bf16"), variant(runtime="onnxruntime")).champion
    assert ref.measured_precisions("openvino") == ("fp32", "bf16")
    assert ref.measured_precisions("onnxruntime") == ("fp32",)
    only_ov = with_variants(variant("bf16")).champion
    assert only_ov.measured_precisions("onnxruntime") == ()  # nothing measured on that runtime
    old = manifest().champion  # the gate before variants measured fp32
    assert old.variants == ()
    assert old.measured_precisions("openvino") == old.measured_precisions("onnxruntime") == ("fp32",)
    with pytest.raises(ContractError) as err:
        old.measured_precisions("tensorrt")
    assert err.value.field == "runtime"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda v: v.update(precision="fp16"), "champion.variants[0].precision"),
        (lambda v: v.update(runtime="tensorrt"), "champion.variants[0].runtime"),
        (lambda v: v.pop("uri"), "champion.variants[0].uri"),
        (lambda v: v.update(sha256="abc"), "champion.variants[0].sha256"),
        (lambda v: v.update(map50=1.5), "champion.variants[0].map50"),
        (lambda v: v.update(map50_95="high"), "champion.variants[0].map50_95"),
        # fp32 and bf16 run the released file itself: a measurement of another file does not count
        (lambda v: v.update(sha256=SHA_B), "champion.variants[0].sha256"),
    ],
)
def test_invalid_variants_name_the_field(mutate, field):
    data = with_variants(variant()).to_dict()
    mutate(data["champion"]["variants"][0])
    with pytest.raises(ContractError) as err:
        ReleaseManifest.from_dict(data, source="releases/manifest.json")
    assert err.value.field == field


def test_a_variant_listed_twice_or_not_a_list_is_refused():
    with pytest.raises(ContractError) as err:
        ModelRef("v1", "models/v1/model.onnx", SHA_A, variants=(variant(), variant(map50=0.5)))
    assert err.value.field == "variants[1]" and "twice" in err.value.problem
    data = with_variants(variant()).to_dict()
    data["champion"]["variants"] = {"fp32": "yes"}
    with pytest.raises(ContractError) as err:
        ReleaseManifest.from_dict(data)
    assert err.value.field == "champion.variants"
    data["champion"]["variants"] = ["fp32"]
    with pytest.raises(ContractError) as err:
        ReleaseManifest.from_dict(data)
    assert err.value.field == "champion.variants[0]"


def test_an_int8_variant_is_its_own_file():
    int8 = ModelVariant("int8", "openvino", "models/v1/model-int8.onnx", SHA_B, map50=0.88)
    ref = ModelRef("v1", "models/v1/model.onnx", SHA_A, variants=(variant(), int8))
    assert ref.measured_precisions("openvino") == ("fp32", "int8")


# A manifest as the platform wrote it before variants (no "variants" key anywhere).
OLD_MANIFEST = {
    "schema_version": 1,
    "release_id": "rel-2",
    "champion": {
        "model_version": "v1",
        "uri": "models/v1/model.onnx",
        "sha256": SHA_A,
        "imgsz": 320,
        "class_names": ["with_mask", "without_mask", "mask_weared_incorrect"],
    },
    "canary": {
        "model_version": "v2",
        "uri": "models/v2/model.onnx",
        "sha256": SHA_B,
        "imgsz": 320,
        "class_names": ["with_mask", "without_mask", "mask_weared_incorrect"],
        "cameras": ["cam-a"],
        "percentage": None,
    },
    "created_at": "2026-11-23T12:00:00Z",
    "previous_release_id": "rel-1",
}


def test_an_old_manifest_reads_as_measured_at_fp32_only():
    m = ReleaseManifest.from_dict(OLD_MANIFEST)
    assert m.schema_version == MANIFEST_SCHEMA_VERSION == 1
    assert m.champion.variants == () and m.canary is not None and m.canary.variants == ()
    assert m.model_for("cam-a").measured_precisions("openvino") == ("fp32",)


def test_a_new_manifest_keeps_every_old_field_and_readers_skip_keys_they_do_not_know():
    """Why an agent from before variants reads a manifest with them: its parsers take the keys
    they know by name (the same code as here, less the variants lines) and ignore the rest, and
    every old key keeps its name and meaning. Shown the same way on this parser, with keys added
    at every level, as a later addition would add them."""
    new = with_variants(variant(), variant("bf16"), cameras=("cam-a",))
    data = new.to_dict()
    old_keys = {key: OLD_MANIFEST["champion"][key] for key in OLD_MANIFEST["champion"]}
    assert {key: data["champion"][key] for key in old_keys} == old_keys
    assert data["schema_version"] == 1  # an old reader refuses only a newer schema_version
    data["from_the_future"] = {"x": 1}
    data["champion"]["from_the_future"] = 1
    data["champion"]["variants"][1]["from_the_future"] = [1]
    assert data["canary"] is not None
    data["canary"]["from_the_future"] = "y"
    assert ReleaseManifest.from_dict(data) == new
    without = dict(data, champion={k: v for k, v in data["champion"].items() if k != "variants"})
    assert ReleaseManifest.from_dict(without).champion == ModelRef(
        "v1", "models/v1/model.onnx", SHA_A, imgsz=320
    )


# ---------------------------------------------------------------- the INT8 variant (its own file)
INT8_URI = "models/v1/model_int8.zip"


def int8_variant(runtime="openvino", uri=INT8_URI, sha256=SHA_B, **scores):
    return ModelVariant("int8", runtime, uri, sha256, **scores)


def test_the_manifest_names_the_fp32_and_the_int8_file_each_with_its_sha256():
    m = with_variants(variant(map50=0.91), int8_variant(map50=0.905, map50_95=0.6))
    data = json.loads(m.to_json())
    assert [(v["precision"], v["uri"], v["sha256"]) for v in data["champion"]["variants"]] == [
        ("fp32", "models/v1/model.onnx", SHA_A),
        ("int8", INT8_URI, SHA_B),
    ]
    parsed = ReleaseManifest.from_json(m.to_json())
    assert parsed == m
    assert parsed.champion.variant("int8", "openvino") == int8_variant(map50=0.905, map50_95=0.6)
    assert parsed.champion.variant("fp32", "openvino") == variant(map50=0.91)
    assert parsed.champion.variant("int8", "onnxruntime") is None
    with pytest.raises(ContractError) as err:
        parsed.champion.variant("int4", "openvino")
    assert err.value.field == "precision"


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        # an "int8" variant that names the model file would run fp32 under an int8 label
        (int8_variant(uri="models/v1/model.onnx", sha256=SHA_A), "variants[1].uri", "own quantized file"),
        (int8_variant(sha256=SHA_A), "variants[1].uri", "own quantized file"),
    ],
)
def test_an_int8_variant_naming_the_model_file_is_refused(bad, field, words):
    with pytest.raises(ContractError) as err:
        ModelRef("v1", "models/v1/model.onnx", SHA_A, variants=(variant(), bad))
    assert err.value.field == field and words in err.value.problem


def test_one_file_has_one_digest_across_variants():
    ModelRef("v1", "models/v1/model.onnx", SHA_A, variants=(int8_variant(), int8_variant("onnxruntime")))
    with pytest.raises(ContractError) as err:
        ModelRef(
            "v1",
            "models/v1/model.onnx",
            SHA_A,
            variants=(int8_variant(), int8_variant("onnxruntime", sha256="c" * 64)),
        )
    assert err.value.field == "variants[1].sha256" and "two digests" in err.value.problem


def test_an_old_agent_reads_a_manifest_with_an_int8_variant_and_runs_the_fp32_file():
    """An agent from before variants reads the keys it knows by name: the model's ``uri`` and
    ``sha256`` still name the fp32 ``model.onnx`` it downloads and checks; an agent from before
    int8 finds int8 among the listed precisions (a value it already parses) and never picks it."""
    new = with_variants(variant(), variant("bf16"), int8_variant(map50=0.9), cameras=("cam-a",))
    data = new.to_dict()
    assert (data["champion"]["uri"], data["champion"]["sha256"]) == ("models/v1/model.onnx", SHA_A)
    assert data["schema_version"] == 1
    before_variants = dict(data, champion={k: v for k, v in data["champion"].items() if k != "variants"})
    assert ReleaseManifest.from_dict(before_variants).champion == ModelRef(
        "v1", "models/v1/model.onnx", SHA_A, imgsz=320
    )
    parsed = ReleaseManifest.from_dict(data).champion
    assert parsed.measured_precisions("openvino") == ("fp32", "bf16", "int8")


def test_a_new_agent_reads_an_old_manifest_as_fp32_without_int8():
    m = ReleaseManifest.from_dict(OLD_MANIFEST)
    for ref in (m.champion, m.canary):
        assert ref is not None
        assert ref.variant("int8", "openvino") is None
        assert ref.measured_precisions("openvino") == ("fp32",)


# ---------------------------------------------------------------- shadow mode
def with_shadow(**shadow):
    m = manifest(cameras=("cam-a",))
    return ReleaseManifest(
        release_id=m.release_id,
        champion=m.champion,
        canary=m.canary,
        previous_release_id=m.previous_release_id,
        shadow=ShadowModel("v3", "models/v3/model.onnx", "c" * 64, **shadow),
    )


def test_a_shadow_names_cameras_by_list_or_percentage_with_a_frame_share():
    m = with_shadow(cameras=("cam-b",))
    assert m.shadow is not None and m.shadow.frame_share == DEFAULT_SHADOW_FRAME_SHARE == 0.10
    assert m.shadow_for("cam-b") is m.shadow and m.shadow_for("cam-a") is None
    assert m.model_for("cam-b").model_version == "v1"  # a shadow never changes what a camera runs
    everyone = with_shadow(percentage=100.0, frame_share=0.5)
    assert everyone.shadow_for("anything") is not None and everyone.shadow.frame_share == 0.5
    by_bucket = with_shadow(percentage=30.0)
    for cam in ("a", "b", "c", "d", "e", "f"):
        assert (by_bucket.shadow_for(cam) is not None) == (canary_bucket(cam) < 30.0)
    parsed = ReleaseManifest.from_json(m.to_json())
    assert parsed == m and isinstance(parsed.shadow, ShadowModel)
    assert not isinstance(parsed.shadow, CanaryModel)


@pytest.mark.parametrize(
    ("shadow", "field"),
    [
        ({"cameras": [], "percentage": None}, "shadow.cameras"),
        ({"cameras": ["cam-a"], "frame_share": 0}, "shadow.frame_share"),
        ({"cameras": ["cam-a"], "frame_share": 1.5}, "shadow.frame_share"),
        ({"cameras": "cam-a"}, "shadow.cameras"),
        ({"percentage": 101}, "shadow.percentage"),
    ],
)
def test_an_invalid_shadow_names_the_field(shadow, field):
    data = with_shadow(cameras=("cam-a",)).to_dict()
    data["shadow"] = {**data["shadow"], **shadow}
    with pytest.raises(ContractError) as err:
        ReleaseManifest.from_dict(data, source="releases/manifest.json")
    assert err.value.field == field
    assert err.value.source == "releases/manifest.json"


def test_a_new_agent_reads_an_old_manifest_without_a_shadow():
    m = ReleaseManifest.from_dict(OLD_MANIFEST)
    assert m.shadow is None
    assert m.shadow_for("cam-a") is None and m.shadow_for("cam-b") is None


def test_an_old_agent_reads_a_manifest_with_a_shadow_and_runs_what_it_ran():
    """An agent from before shadow mode takes the keys it knows by name: every old key keeps its
    name and meaning (``shadow`` is one more top-level key, the schema version stays 1), so it
    parses to the release it would have read without the shadow. Shown on this parser with the
    keys only a later reader would know, added at every level of the shadow."""
    m = with_shadow(cameras=("cam-b",), frame_share=0.2)
    data = m.to_dict()
    assert data["schema_version"] == 1
    before = {k: v for k, v in data.items() if k != "shadow"}
    without = ReleaseManifest(
        release_id=m.release_id,
        champion=m.champion,
        canary=m.canary,
        created_at=m.created_at,
        previous_release_id=m.previous_release_id,
    )
    assert before == {k: v for k, v in without.to_dict().items() if k != "shadow"}
    assert ReleaseManifest.from_dict(before) == without  # what an old reader sees of it
    for camera in ("cam-a", "cam-b", "cam-c"):
        assert m.model_for(camera) == without.model_for(camera)
    data["shadow"]["from_the_future"] = {"x": 1}
    data["from_the_future"] = 1
    assert ReleaseManifest.from_dict(data) == m
    assert json.loads(m.to_json())["shadow"]["frame_share"] == 0.2
    assert without.to_dict()["shadow"] is None
