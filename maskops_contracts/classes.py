"""The detector's classes, in model output order."""

from maskops_contracts.errors import ContractError

CLASS_NAMES: tuple[str, ...] = ("with_mask", "without_mask", "mask_weared_incorrect")


def class_index(name: str, names: tuple[str, ...] = CLASS_NAMES) -> int:
    """Index of ``name`` in ``names``; a ContractError naming the known classes otherwise."""
    try:
        return names.index(name)
    except ValueError:
        raise ContractError("class", f"unknown class {name!r}; known: {', '.join(names)}") from None
