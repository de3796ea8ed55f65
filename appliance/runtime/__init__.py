"""Call runtime: per-call sessions wiring SIP audio through VAD, STT, policy and TTS."""
