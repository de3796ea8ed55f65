"""Audio primitives: frames, resampling, VAD, endpointing and playout buffers."""
