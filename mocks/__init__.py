"""The simulated bench: the s-MTJ model, a mock PyVISA library, a serial replay handler."""
