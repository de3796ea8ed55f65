"""Local chat LLM on llama-cpp-python: one resident ``Llama`` per model (prefix KV reuse).

Constraints:
- Blocking and not re-entrant: call from the single LLM worker thread.
- Keep the system prompt byte-identical across turns: llama-cpp-python reuses the longest
  common token prefix of consecutive prompts, which cuts TTFT from ~1-2 s to ~50 ms.
- ``threads`` defaults to 1 (``n_threads`` and ``n_threads_batch``): with STT/TTS on the
  same 2 cores, 2 threads made decode collapse to ~1 tok/s under contention.
- Chat format: the GGUF's own template when it has one; a Gemma GGUF without one (the base
  gemma-3-270m) uses llama-cpp's ``gemma`` format with the system prompt folded into the
  first user turn (that format silently drops system messages); other template-less GGUFs
  fall back to ``chatml``. ``LlmConfig.chat_format`` overrides.
- Structured output: ``complete_json`` constrains the reply with a JSON-schema grammar
  (llama-cpp's ``response_format``); it guarantees the shape only until ``max_tokens`` and
  costs decode speed (Gemma's 262k vocabulary: ~63 -> ~20 tok/s). Callers validate the
  content in code (:mod:`appliance.agent.structured`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.agent.config import LlmConfig
from appliance.agent.types import ChatMessage
from appliance.models import ModelError

if TYPE_CHECKING:
    from llama_cpp import Llama

    from appliance.models import ModelRegistry

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
FOLDING_FORMATS = frozenset({"gemma"})


class ModelLoadError(ModelError):
    """The GGUF file is missing, not a GGUF, truncated or otherwise unloadable."""


@dataclass(frozen=True, slots=True)
class GenerationStats:
    """Figures of the last :meth:`LlamaCppModel.stream` call (from llama.cpp perf counters).

    ``prompt_eval_tokens`` counts only the prompt tokens actually evaluated: tokens reused
    from the KV cache are not in it, so a warm turn shows a small number here.
    """

    prompt_eval_tokens: int
    prompt_eval_ms: float
    decode_tokens: int
    decode_ms: float
    ttft_s: float | None
    total_s: float
    cached_tokens: int


def fold_system_into_first_user(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """Merge system message(s) into the first user turn, for formats that drop ``system``.

    The system text comes first, separated by a blank line, so consecutive turns with the
    same system prompt still share a token prefix. A system prompt with no user turn
    becomes a user turn of its own.
    """
    system = "\n\n".join(text for role, text in messages if role == "system" and text)
    rest = [(role, text) for role, text in messages if role != "system"]
    if not system:
        return rest
    for i, (role, text) in enumerate(rest):
        if role == "user":
            rest[i] = ("user", f"{system}\n\n{text}" if text else system)
            return rest
    return [("user", system), *rest]


def resolve_chat_format(metadata: dict[str, str], override: str | None) -> tuple[str | None, bool]:
    """Pick (llama-cpp chat_format or None for the GGUF template, fold_system) for a GGUF."""
    if override:
        return override, override in FOLDING_FORMATS
    if metadata.get("tokenizer.chat_template"):
        return None, False
    arch = metadata.get("general.architecture", "")
    if arch.startswith("gemma"):
        return "gemma", True
    log.warning("GGUF (architecture %r) has no chat template; using chatml", arch or "?")
    return "chatml", False


def check_gguf_file(path: Path) -> None:
    """Raise :class:`ModelLoadError` unless ``path`` is a readable file with the GGUF magic."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        raise ModelLoadError(f"GGUF model not found: {path}") from None
    except IsADirectoryError:
        raise ModelLoadError(f"GGUF model path is a directory, not a file: {path}") from None
    except OSError as e:
        raise ModelLoadError(f"cannot read GGUF model {path}: {e.strerror}") from None
    if len(head) < 8 or head[:4] != GGUF_MAGIC:
        raise ModelLoadError(
            f"{path} is not a GGUF model (starts with {head[:4]!r}, expected {GGUF_MAGIC!r})"
        )


class LlamaCppModel:
    """:class:`appliance.agent.types.LanguageModel` backed by one resident ``llama_cpp.Llama``.

    Loads any GGUF path (registry or operator-supplied); raises :class:`ModelLoadError`
    with the path and the reason when it cannot.
    """

    def __init__(self, path: Path, cfg: LlmConfig) -> None:
        self.path = Path(path)
        self.cfg = cfg
        check_gguf_file(self.path)
        from llama_cpp import Llama  # deferred: importing llama_cpp loads the shared library

        t0 = time.perf_counter()
        try:
            self._llama: Llama = Llama(
                model_path=str(self.path),
                n_ctx=cfg.n_ctx,
                n_threads=cfg.threads,
                n_threads_batch=cfg.threads,
                seed=cfg.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as e:
            raise ModelLoadError(f"cannot load GGUF model {self.path}: {e} "
                                 "(truncated, corrupt or unsupported architecture?)") from None
        self.load_s = time.perf_counter() - t0
        metadata = dict(self._llama.metadata or {})
        self.chat_format, self.fold_system = resolve_chat_format(metadata, cfg.chat_format)
        if self.chat_format is not None:
            self._llama.chat_format = self.chat_format
        self.architecture = metadata.get("general.architecture", "")
        self.last_stats: GenerationStats | None = None
        self._busy = threading.Lock()
        log.info("loaded %s (%s, chat format %s%s) in %.2f s", self.path.name,
                 self.architecture or "?", self.chat_format or self._llama.chat_format,
                 ", system folded" if self.fold_system else "", self.load_s)

    @property
    def llama(self) -> Llama:
        """The underlying ``llama_cpp.Llama`` (for grammar/JSON calls on the same cache)."""
        return self._llama

    def _messages(self, messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
        msgs = fold_system_into_first_user(messages) if self.fold_system else list(messages)
        return [{"role": role, "content": text} for role, text in msgs]

    def _perf(self) -> Any | None:
        import llama_cpp

        ctx = getattr(getattr(self._llama, "_ctx", None), "ctx", None)
        return None if ctx is None else llama_cpp.llama_perf_context(ctx)

    def _perf_reset(self) -> None:
        import llama_cpp

        ctx = getattr(getattr(self._llama, "_ctx", None), "ctx", None)
        if ctx is not None:
            llama_cpp.llama_perf_context_reset(ctx)

    def stream(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        stop: Sequence[str] = (),
        schema: dict[str, Any] | None = None,
    ) -> Iterator[str]:
        """Yield text pieces of the reply; stats of the call land in :attr:`last_stats`.

        ``schema``: a JSON schema the reply must follow (llama-cpp turns it into a grammar).
        """
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("LlamaCppModel.stream called concurrently; use one LLM thread")
        try:
            yield from self._stream(messages, max_tokens, stop, schema)
        finally:
            self._busy.release()

    def _stream(self, messages: Sequence[ChatMessage], max_tokens: int,
                stop: Sequence[str], schema: dict[str, Any] | None = None) -> Iterator[str]:
        self._perf_reset()
        t0 = time.perf_counter()
        ttft: float | None = None
        fmt = {"type": "json_object", "schema": schema} if schema is not None else None
        chunks = self._llama.create_chat_completion(
            messages=self._messages(messages),  # type: ignore[arg-type]
            max_tokens=max_tokens,
            stop=list(stop),
            temperature=self.cfg.temperature,
            seed=self.cfg.seed,
            stream=True,
            response_format=fmt,  # type: ignore[arg-type]
        )
        try:
            for chunk in chunks:
                piece = chunk["choices"][0]["delta"].get("content")  # type: ignore[index]
                if piece:
                    if ttft is None:
                        ttft = time.perf_counter() - t0
                    yield piece
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # stop generating now, not when the generator is collected
            perf = self._perf()
            self.last_stats = GenerationStats(
                prompt_eval_tokens=int(perf.n_p_eval) if perf else -1,
                prompt_eval_ms=float(perf.t_p_eval_ms) if perf else -1.0,
                decode_tokens=int(perf.n_eval) if perf else -1,
                decode_ms=float(perf.t_eval_ms) if perf else -1.0,
                ttft_s=ttft,
                total_s=time.perf_counter() - t0,
                cached_tokens=int(self._llama.n_tokens),
            )

    def complete(self, messages: Sequence[ChatMessage], max_tokens: int,
                 stop: Sequence[str] = ()) -> str:
        """The whole reply as one string (convenience over :meth:`stream`)."""
        return "".join(self.stream(messages, max_tokens, stop))

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                      max_tokens: int, timeout_s: float) -> str:
        """The reply constrained by the JSON ``schema`` grammar (it may still be cut off at
        ``max_tokens``: parse and validate it). Raises :class:`TimeoutError` once
        ``timeout_s`` has passed; the check runs per token, so a cold prompt evaluation
        (~1-2 s on the registry models) can overrun it before the first token."""
        deadline = time.perf_counter() + timeout_s
        pieces: list[str] = []
        gen = self.stream(messages, max_tokens, schema=schema)
        try:
            for piece in gen:
                pieces.append(piece)
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"LLM JSON reply took longer than {timeout_s:.1f} s")
        finally:
            gen.close()
        return "".join(pieces)

    def warmup(self, system_prompt: str) -> float:
        """Evaluate ``system_prompt`` once so the first caller turn reuses it; returns seconds.

        Pass the exact system prompt the conversation will use.
        """
        t0 = time.perf_counter()
        for _ in self.stream([("system", system_prompt), ("user", "Hello.")], max_tokens=1):
            pass
        return time.perf_counter() - t0

    def reset(self) -> None:
        """Forget the KV cache (the next call pays full prompt evaluation again)."""
        self._llama.reset()

    def close(self) -> None:
        self._llama.close()


def build_language_model(cfg: LlmConfig, registry: ModelRegistry) -> LlamaCppModel | None:
    """The configured LLM, or None when ``cfg.enabled`` is false.

    ``cfg.model_path`` (operator-supplied GGUF) wins over ``cfg.model`` (a manifest name,
    verified by the registry). Raises :class:`ModelError` / :class:`ModelLoadError`.
    """
    if not cfg.enabled:
        return None
    if cfg.model_path is not None:
        return LlamaCppModel(cfg.model_path, cfg)
    spec = registry.spec(cfg.model)
    if spec.kind != "llm-gguf":
        raise ModelError(f"[llm].model '{cfg.model}' is a {spec.kind} model, not llm-gguf")
    return LlamaCppModel(registry.path(cfg.model), cfg)
