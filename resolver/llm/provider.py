"""The optional LLM provider: the company's own model behind an OpenAI-compatible endpoint
(vLLM, Ollama, llama.cpp server, Azure OpenAI), through the official `openai` client.

Off unless `llm_base_url` is set: then no client exists and nothing leaves the machine. When on,
every call has a hard deadline (`llm_timeout_seconds`, no retries) and a circuit breaker: after a
failure or a time-out the provider is skipped for `llm_cool_down_seconds`, so an unreachable
endpoint costs nothing per message. Each call made is described by an `LlmCall` (purpose, model,
latency, tokens, outcome) for the `llm_called` event; never the prompt, the answer or the key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as DeadlineExceeded
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from settings import Settings

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

Purpose = Literal["understanding", "summary", "translation", "drafting"]
CallOutcome = Literal["ok", "invalid", "error", "timeout"]
# Sent when no key is configured: local servers (Ollama, llama.cpp) need none, and the client
# would otherwise read OPENAI_API_KEY from the environment and hand it to this endpoint.
NO_KEY = "unused"


@dataclass(frozen=True)
class LlmCall:
    """One call to the provider, as the `llm_called` event records it."""

    purpose: Purpose
    model: str
    latency_ms: int
    input_tokens: int | None
    output_tokens: int | None
    outcome: CallOutcome

    def event_fields(self) -> dict[str, object]:
        """The fields of its `llm_called` event."""
        return {
            "purpose": self.purpose,
            "model": self.model,
            "latency_ms": self.latency_ms,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "outcome": self.outcome,
        }

    def cost(self, per_1k_input: float, per_1k_output: float) -> float:
        """What the call cost at these prices per 1,000 tokens (unreported tokens: nothing)."""
        return (
            (self.input_tokens or 0) * per_1k_input + (self.output_tokens or 0) * per_1k_output
        ) / 1000


@dataclass(frozen=True)
class Completion:
    """The provider's answer (None unless the call went well) and the call, if one was made
    (None when the provider was skipped while cooling down)."""

    text: str | None
    call: LlmCall | None

    def invalid(self) -> Completion:
        """The same call, its answer found unusable by the caller."""
        call = replace(self.call, outcome="invalid") if self.call else None
        return Completion(None, call)


class LlmProvider:
    """Chat completions from one model, with a hard deadline and a circuit breaker."""

    def __init__(
        self,
        client: openai.OpenAI,
        model: str,
        timeout_seconds: float,
        cool_down_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.model = model
        self.timeout_seconds = timeout_seconds
        self.cool_down_seconds = cool_down_seconds
        self.clock = clock
        self._skip_until = float("-inf")
        # Each call runs on a worker so the caller waits no longer than the deadline, even on
        # an endpoint that trickles its answer (the client's own timeouts are per read).
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="llm")

    @classmethod
    def from_settings(cls, settings: Settings) -> LlmProvider | None:
        """The configured provider, or None when `llm_base_url` is unset (the default)."""
        if not settings.llm_base_url:
            return None
        import openai  # only when configured: the package takes seconds to import

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else NO_KEY
        client = openai.OpenAI(
            base_url=settings.llm_base_url,
            api_key=key,
            timeout=settings.llm_timeout_seconds,
            max_retries=0,
        )
        return cls(
            client,
            settings.llm_model,
            settings.llm_timeout_seconds,
            settings.llm_cool_down_seconds,
        )

    @property
    def cooling_down(self) -> bool:
        """Whether calls are skipped now, after a recent failure."""
        return self.clock() < self._skip_until

    def complete(
        self,
        purpose: Purpose,
        instructions: str,
        content: str,
        *,
        json_answer: bool = False,
        max_tokens: int = 400,
    ) -> Completion:
        """Ask the model: `instructions` as the system message, `content` (already redacted
        by the caller) as the user's. Skipped (no call) while cooling down."""
        import openai  # imported already: a client exists

        if self.cooling_down:
            return Completion(None, None)
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": instructions},
                {"role": "user", "content": content},
            ],
            "temperature": 0,
            "max_tokens": max_tokens,
        }
        if json_answer:
            request["response_format"] = {"type": "json_object"}
        started = time.perf_counter()
        pending = self._workers.submit(self.client.chat.completions.create, **request)
        try:
            response = pending.result(timeout=self.timeout_seconds)
            text = response.choices[0].message.content if response.choices else None
            usage = response.usage
        except (DeadlineExceeded, openai.APITimeoutError):
            return self._failed(purpose, started, "timeout", "no answer in time")
        except openai.APIStatusError as error:
            return self._failed(purpose, started, "error", f"HTTP {error.status_code}")
        except Exception as error:  # whatever else goes wrong, the turn goes on without it
            return self._failed(purpose, started, "error", type(error).__name__)
        answered = isinstance(text, str) and bool(text.strip())
        call = LlmCall(
            purpose=purpose,
            model=self.model,
            latency_ms=_elapsed_ms(started),
            input_tokens=_tokens(getattr(usage, "prompt_tokens", None)),
            output_tokens=_tokens(getattr(usage, "completion_tokens", None)),
            outcome="ok" if answered else "invalid",
        )
        return Completion(text.strip() if answered else None, call)

    def _failed(
        self, purpose: Purpose, started: float, outcome: CallOutcome, reason: str
    ) -> Completion:
        """Open the breaker and describe the failed call (the reason names no URL or key)."""
        self._skip_until = self.clock() + self.cool_down_seconds
        log.warning(
            "LLM provider failed (%s, %s); not asked again for %g s",
            reason,
            purpose,
            self.cool_down_seconds,
        )
        call = LlmCall(purpose, self.model, _elapsed_ms(started), None, None, outcome)
        return Completion(None, call)

    def close(self) -> None:
        """Release the HTTP connections; a call still running ends at its own timeout."""
        self._workers.shutdown(wait=False, cancel_futures=True)
        self.client.close()


def _tokens(reported: object) -> int | None:
    """A token count as the provider reported it, if it is one."""
    return reported if isinstance(reported, int) and reported >= 0 else None


def _elapsed_ms(started: float) -> int:
    """Milliseconds since `started` (a `perf_counter` reading)."""
    return round((time.perf_counter() - started) * 1000)
