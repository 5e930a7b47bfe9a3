"""The optional LLM provider (off by default): the client with its deadline and circuit breaker
(`provider.py`), what the engine and the nightly drafting ask it (`tasks.py`: understanding,
summaries, translations, article drafts), and the comparison of the intent model with it on
labelled messages (`evaluation.py`)."""

from resolver.llm.provider import Completion, LlmCall, LlmProvider

__all__ = ["Completion", "LlmCall", "LlmProvider"]
