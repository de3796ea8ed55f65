"""Integrations and human handoff with guardrails: idempotent, rate-limited, durable, minimal.

Public API (the runtime's side):

- :class:`~appliance.integrations.config.IntegrationsConfig` - the ``[integrations]`` section.
- :func:`~appliance.integrations.build.build_integrations` ``(config, audit, clock=...)`` ->
  ``Integrations`` with ``.tools`` (:class:`~appliance.integrations.tools.IntegrationTools`;
  bind per call with ``.for_call(call_id, caller_number, recording_ref)``), ``.start()`` /
  ``.stop()`` for the outbox worker thread, ``.outbox``, ``.dispatcher``.
- :func:`~appliance.integrations.keys.idempotency_key` ``(call_id, action, args)``.
- :class:`~appliance.integrations.handoff.Handoff` - callback / handoff ticket / escalation.

Everything outbound passes :mod:`~appliance.integrations.dispatch` (allow-list, audit of field
names, circuit breaker, token bucket) and the SQLite outbox (:mod:`.outbox`, :mod:`.worker`),
where queued payloads are sealed with the store's KEK. Destinations without idempotency (chat,
mail) are never re-sent after an ambiguous failure (``unconfirmed``; ``fields.IDEMPOTENCY``).
"""
