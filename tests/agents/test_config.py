"""LLMConfig.from_env: conventions shared with every component, and keys never shown."""

from __future__ import annotations

from kernelwright.agents.config import LLMConfig

ENV = {
    "OPENAI_BASE_URL": "http://default/v1",
    "OPENAI_API_KEY": "sk-default-secret",
    "KERNELWRIGHT_MODEL": "both-model",
    "KERNELWRIGHT_JUDGE_MODEL": "judge-model",
    "KERNELWRIGHT_JUDGE_BASE_URL": "http://judge/v1",
    "KERNELWRIGHT_CODER_API_KEY": "sk-coder-secret",
}


def test_role_specific_env_beats_shared_defaults() -> None:
    cfg = LLMConfig.from_env(ENV)
    assert (cfg.coder.model, cfg.judge.model) == ("both-model", "judge-model")
    assert (cfg.coder.base_url, cfg.judge.base_url) == ("http://default/v1", "http://judge/v1")
    assert cfg.coder.api_key is not None and cfg.coder.api_key.get_secret_value() == "sk-coder-secret"
    assert cfg.judge.api_key is not None and cfg.judge.api_key.get_secret_value() == "sk-default-secret"


def test_cli_overrides_beat_environment() -> None:
    cfg = LLMConfig.from_env(
        ENV, model="m", judge_model="j2", base_url="http://flag/v1", coder_temperature=0.3
    )
    assert (cfg.coder.model, cfg.judge.model) == ("m", "j2")
    assert cfg.coder.base_url == cfg.judge.base_url == "http://flag/v1"
    # the Judge keeps its default (a non-reasoning model named "j2")
    assert (cfg.coder.temperature, cfg.judge.temperature) == (0.3, 0.2)


def test_describe_and_repr_never_show_keys() -> None:
    cfg = LLMConfig.from_env(ENV)
    shown = f"{cfg.describe()} {cfg!r} {cfg.model_dump()}"
    assert "secret" not in shown
    assert cfg.describe()["coder"]["api_key"] == "set"


def test_missing_lists_what_each_role_lacks() -> None:
    assert LLMConfig.from_env({}).missing() == [
        "coder base URL",
        "coder API key",
        "coder model",
        "judge base URL",
        "judge API key",
        "judge model",
    ]
    assert LLMConfig.from_env({"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "u"}, coder_model="c").missing() == [
        "judge model"
    ]
