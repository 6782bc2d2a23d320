"""PyVISA and pyserial drivers for the bench, and the bias safety limits."""
