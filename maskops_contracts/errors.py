"""The one error type the contracts raise."""


class ContractError(ValueError):
    """A record does not follow the contract.

    ``field`` is the dotted path of the offending field (``detections[2].box``),
    so a log line or a CLI message can point at it directly.
    """

    def __init__(self, field: str, problem: str, *, source: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field}: {problem}")

    def within(self, prefix: str, *, source: str | None = None) -> "ContractError":
        """The same error, re-rooted under ``prefix`` (and tagged with a source file)."""
        field = f"{prefix}.{self.field}" if prefix and not self.field.startswith("[") else prefix + self.field
        return ContractError(field, self.problem, source=source or self.source)
