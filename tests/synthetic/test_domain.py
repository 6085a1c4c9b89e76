from pathlib import Path

import pytest

from maskops_assets.synthetic.domain import DomainConfigError, SceneDomain, load_domain


def test_yaml_round_trip_keeps_every_knob(tmp_path: Path) -> None:
    shifted = SceneDomain.shifted()
    assert SceneDomain.from_yaml(shifted.to_yaml(tmp_path / "shifted.yaml")) == shifted


def test_yaml_with_only_some_keys_keeps_defaults_for_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "dim.yaml"
    path.write_text("brightness: [-40, -20]\nmask_patterns: [pleated]\n")
    domain = SceneDomain.from_yaml(path)
    assert domain.brightness == (-40.0, -20.0)
    assert domain.mask_patterns == ["pleated"]
    assert domain.blur_sigma == SceneDomain.default().blur_sigma


def test_unknown_key_fails_naming_the_key_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("blurr_sigma: [0, 1]\n")
    with pytest.raises(DomainConfigError) as caught:
        SceneDomain.from_yaml(path)
    message = str(caught.value)
    assert "unknown key 'blurr_sigma'" in message
    assert str(path) in message
    assert "blur_sigma" in message  # the known keys are listed, so the typo is easy to spot


def test_reversed_range_fails_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "reversed.yaml"
    path.write_text("face_scale: [0.5, 0.2]\n")
    with pytest.raises(DomainConfigError, match=r"key 'face_scale'.*low <= high"):
        SceneDomain.from_yaml(path)


def test_unknown_class_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown classes"):
        SceneDomain(class_weights={"with_mask": 1.0, "helmet": 1.0})


def test_top_level_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(DomainConfigError, match="mapping"):
        SceneDomain.from_yaml(path)


def test_load_domain_resolves_presets_and_files(tmp_path: Path) -> None:
    assert load_domain("default") == SceneDomain.default()
    assert load_domain("shifted") == SceneDomain.shifted()
    path = SceneDomain.shifted().to_yaml(tmp_path / "s.yaml")
    assert load_domain(str(path)) == SceneDomain.shifted()
    with pytest.raises(DomainConfigError, match="neither a preset"):
        load_domain("no-such-domain")
