"""Speech models: speech-to-text and text-to-speech engines behind small protocols."""
