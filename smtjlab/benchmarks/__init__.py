"""The DESIGN §6 benchmarks, each against a baseline measured in the same run (`smtjlab bench`).

They live in the glue, not in the layers they measure (DESIGN §1): a benchmark may build a mock
bench, a layer may not.
"""
