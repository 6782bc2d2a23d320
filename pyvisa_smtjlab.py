"""PyVISA's backend hook for the smtjlab mock bench (DESIGN §5.4).

    pyvisa.ResourceManager("@smtjlab")                  # the default mock station
    pyvisa.ResourceManager("path/station.toml@smtjlab") # the mock instruments a station declares

PyVISA imports `pyvisa_<name>` for "@<name>" and instantiates its `WRAPPER_CLASS`.
"""

from smtjlab.mocks.visa_library import MockVisaLibrary as WRAPPER_CLASS

__all__ = ["WRAPPER_CLASS"]
