"""Telegraph noise to bitstreams: trace files, digitizing, bit pools, calibration."""
