"""Time-linked views: waveform, spectrogram, diff."""
