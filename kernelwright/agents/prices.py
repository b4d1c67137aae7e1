"""Dollar cost of an LLM call: a packaged price table (prices.json) the user can extend with a file."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from kernelwright.errors import ConfigError


class ModelPrice(BaseModel):
    """USD per million tokens for one model."""

    model_config = {"extra": "forbid"}

    input_per_mtok: float = Field(ge=0, description="USD per 1,000,000 prompt tokens.")
    output_per_mtok: float = Field(ge=0, description="USD per 1,000,000 completion tokens.")


class PriceTable:
    """Exact model name first, then the longest known prefix ('gpt-4o-mini-2024-07-18' -> 'gpt-4o-mini')."""

    def __init__(self, prices: dict[str, ModelPrice]):
        self.prices = prices

    @classmethod
    def load(cls, extra_path: str | None = None) -> PriceTable:
        text = resources.files("kernelwright.agents").joinpath("prices.json").read_text()
        prices = _parse(text, "the packaged price table")
        if extra_path:
            path = Path(extra_path).expanduser()
            try:
                extra_text = path.read_text()
            except OSError as err:
                raise ConfigError(f"Cannot read the price table {path}: {err.strerror}.") from err
            prices.update(_parse(extra_text, str(path)))
        return cls(prices)

    def lookup(self, model: str) -> ModelPrice | None:
        if model in self.prices:
            return self.prices[model]
        # Endpoints often report dated or provider-prefixed names ('openai/gpt-4o-2024-08-06').
        bare = model.rsplit("/", 1)[-1]
        matches = [name for name in self.prices if bare.startswith(name) or model.startswith(name)]
        return self.prices[max(matches, key=len)] if matches else None

    def cost_usd(self, model: str, tokens_in: int, tokens_out: int) -> float:
        price = self.lookup(model)
        if price is None:
            return 0.0
        return (tokens_in * price.input_per_mtok + tokens_out * price.output_per_mtok) / 1_000_000


def _parse(text: str, where: str) -> dict[str, ModelPrice]:
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("top level is not an object")
        return {name: ModelPrice.model_validate(v) for name, v in raw.items() if not name.startswith("_")}
    except (ValueError, ValidationError) as err:
        first = str(err).splitlines()[0]
        raise ConfigError(
            f"The price table {where} is not valid JSON of the form "
            f'{{"model": {{"input_per_mtok": X, "output_per_mtok": Y}}}} ({first}).'
        ) from err
