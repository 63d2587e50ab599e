"""Counters of a generation run (calls, rejections, retries, tokens, cost), mergeable across resumed runs."""

from collections import Counter
from dataclasses import dataclass, field

RETRY_CAUSES = ("rate_limit", "server_error", "connection")


@dataclass
class Tally:
    calls: int = 0  # answered API calls (a retried request counts once, when it is answered)
    accepted: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    invalid: Counter = field(default_factory=Counter)  # reason -> answers skipped
    retries: Counter = field(default_factory=Counter)  # cause -> retries
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def add_usage(self, *, input_tokens: int, output_tokens: int, input_usd_per_mtok: float, output_usd_per_mtok: float) -> None:
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cost_usd += (input_tokens * input_usd_per_mtok + output_tokens * output_usd_per_mtok) / 1_000_000

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(
            calls=self.calls + other.calls,
            accepted=self.accepted + other.accepted,
            exact_duplicates=self.exact_duplicates + other.exact_duplicates,
            near_duplicates=self.near_duplicates + other.near_duplicates,
            invalid=self.invalid + other.invalid,
            retries=self.retries + other.retries,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
        )

    def as_dict(self) -> dict:
        return {
            "calls": self.calls,
            "accepted": self.accepted,
            "duplicates_rejected": {"exact": self.exact_duplicates, "near": self.near_duplicates},
            "invalid_answers": dict(sorted(self.invalid.items())),
            "retries": {"total": sum(self.retries.values()), **{cause: self.retries[cause] for cause in RETRY_CAUSES}},
            "tokens": {"input": self.input_tokens, "output": self.output_tokens},
            "estimated_cost_usd": round(self.cost_usd, 6),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Tally":
        duplicates, retries, tokens = data["duplicates_rejected"], data["retries"], data["tokens"]
        return cls(
            calls=data["calls"],
            accepted=data["accepted"],
            exact_duplicates=duplicates["exact"],
            near_duplicates=duplicates["near"],
            invalid=Counter(data["invalid_answers"]),
            retries=Counter({cause: retries[cause] for cause in RETRY_CAUSES if retries.get(cause)}),
            input_tokens=tokens["input"],
            output_tokens=tokens["output"],
            cost_usd=data["estimated_cost_usd"],
        )
