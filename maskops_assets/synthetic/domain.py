"""The knobs of a synthetic camera domain, and the two presets drift work relies on.

A :class:`SceneDomain` says what the world in front of a camera looks like:
lighting, optics (blur, noise), how big and how many faces, which masks people
wear, skin tones and backgrounds. Every number is a closed range that a scene
draws from, so one domain yields endless different, reproducible scenes.

``SceneDomain.default()`` is a well-lit, easy domain a small detector learns
quickly; ``SceneDomain.shifted()`` is the same world after the camera moved to a
dim, blue-lit corridor with smaller faces and masks nobody wore before: the
drift and active-learning code needs such a shift on demand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from maskops_contracts.classes import CLASS_NAMES

MaskPattern = Literal["solid", "striped", "dotted", "pleated"]
BackgroundKind = Literal["flat", "gradient", "texture", "clutter"]
ColourBGR = tuple[
    Annotated[int, Field(ge=0, le=255)],
    Annotated[int, Field(ge=0, le=255)],
    Annotated[int, Field(ge=0, le=255)],
]

PRESET_NAMES = ("default", "shifted")


class DomainConfigError(ValueError):
    """A domain file or preset name is unusable; the message names the file and the key."""


def _ordered(bounds: tuple[float, float]) -> tuple[float, float]:
    low, high = bounds
    if low > high:
        raise ValueError(f"range must be [low, high] with low <= high, got [{low}, {high}]")
    return bounds


FloatRange = Annotated[tuple[float, float], AfterValidator(_ordered)]
IntRange = Annotated[tuple[int, int], AfterValidator(_ordered)]


class SceneDomain(BaseModel):
    """Everything a scene draws from. Ranges are ``[low, high]``, drawn uniformly per image."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Lighting: out = (in - 128) * contrast + 128 + brightness, then per-channel colour cast.
    brightness: FloatRange = (-15.0, 15.0)
    contrast: FloatRange = (0.9, 1.1)
    # Per-channel gains in B, G, R order; (1, 1, 1) is neutral, B > R reads as a blue cast.
    colour_cast_bgr: tuple[float, float, float] = (1.0, 1.0, 1.0)
    # Extra random gain per channel, drawn from [-jitter, +jitter] around the cast.
    colour_jitter: float = Field(0.05, ge=0.0, le=1.0)

    # Optics: Gaussian blur sigma in pixels and additive Gaussian noise sigma in grey levels.
    blur_sigma: FloatRange = (0.0, 0.6)
    noise_sigma: FloatRange = (0.0, 4.0)

    # Face height as a fraction of the image's shorter side, and faces per image (crowding).
    face_scale: FloatRange = (0.3, 0.5)
    faces_per_image: IntRange = (1, 3)
    # Smallest free space kept between two faces, as a fraction of the smaller face's height.
    face_gap: float = Field(0.05, ge=0.0)
    # How often each class is drawn; missing classes are never drawn.
    class_weights: dict[str, float] = Field(default_factory=lambda: dict.fromkeys(CLASS_NAMES, 1.0))

    mask_colours_bgr: list[ColourBGR] = Field(
        default_factory=lambda: [(235, 205, 150), (245, 245, 245), (200, 140, 60), (120, 190, 120)],
        min_length=1,
    )
    mask_patterns: list[MaskPattern] = Field(
        default_factory=lambda: ["solid", "striped", "dotted", "pleated"], min_length=1
    )
    skin_tones_bgr: list[ColourBGR] = Field(
        default_factory=lambda: [
            (180, 200, 240),
            (140, 170, 220),
            (95, 135, 185),
            (60, 90, 135),
            (45, 60, 95),
        ],
        min_length=1,
    )
    backgrounds: list[BackgroundKind] = Field(
        default_factory=lambda: ["flat", "gradient", "texture", "clutter"], min_length=1
    )

    @model_validator(mode="after")
    def _classes_are_known(self) -> SceneDomain:
        unknown = sorted(set(self.class_weights) - set(CLASS_NAMES))
        if unknown:
            raise ValueError(f"class_weights has unknown classes {unknown}; known: {list(CLASS_NAMES)}")
        if not any(weight > 0 for weight in self.class_weights.values()):
            raise ValueError("class_weights needs at least one class with a weight above 0")
        if any(weight < 0 for weight in self.class_weights.values()):
            raise ValueError("class_weights must not be negative")
        return self

    @classmethod
    def default(cls) -> SceneDomain:
        """Bright, sharp, big faces in light masks: the domain the base model is trained on."""
        return cls()

    @classmethod
    def shifted(cls) -> SceneDomain:
        """A dim, blue, blurry, crowded domain with smaller faces and unseen mask colours."""
        return cls(
            brightness=(-75.0, -45.0),
            contrast=(0.6, 0.8),
            colour_cast_bgr=(1.3, 1.0, 0.7),
            blur_sigma=(1.2, 2.0),
            noise_sigma=(2.0, 5.0),
            face_scale=(0.18, 0.3),
            faces_per_image=(2, 5),
            mask_colours_bgr=[(30, 30, 30), (40, 40, 200), (40, 200, 230), (160, 60, 160)],
            mask_patterns=["striped", "dotted"],
            backgrounds=["texture", "clutter"],
        )

    @classmethod
    def from_yaml(cls, path: Path | str) -> SceneDomain:
        """Load a domain from YAML; keys left out keep the default domain's values."""
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise DomainConfigError(f"{path}: cannot read domain file ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise DomainConfigError(f"{path}: not valid YAML: {exc}") from None
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise DomainConfigError(
                f"{path}: a domain file must be a mapping of knob: value at the top level"
            )
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise DomainConfigError(f"{path}: {_describe(exc)}") from None

    def to_yaml(self, path: Path | str) -> Path:
        """Write this domain as YAML that :meth:`from_yaml` reads back."""
        path = Path(path)
        path.write_text(yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
        return path


def load_domain(spec: str | Path) -> SceneDomain:
    """A preset by name (``default``, ``shifted``) or a YAML file by path."""
    if str(spec) == "default":
        return SceneDomain.default()
    if str(spec) == "shifted":
        return SceneDomain.shifted()
    path = Path(spec)
    if not path.exists():
        raise DomainConfigError(
            f"{spec}: neither a preset ({', '.join(PRESET_NAMES)}) nor an existing YAML file"
        )
    return SceneDomain.from_yaml(path)


def _describe(exc: ValidationError) -> str:
    """One line per problem, each naming the key, e.g. ``unknown key 'blurr'``."""
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "<top level>"
        if error["type"] == "extra_forbidden":
            known = ", ".join(SceneDomain.model_fields)
            problems.append(f"unknown key {key!r} (known keys: {known})")
        else:
            problems.append(f"key {key!r}: {error['msg']}")
    return "; ".join(problems)
