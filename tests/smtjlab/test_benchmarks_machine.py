from smtjlab.benchmarks.machine import machine, summary

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz
flags\t\t: fpu sse2 popcnt avx2 avx512f avx512bw

processor\t: 1
model name\t: something else
"""


def test_the_first_processor_names_the_cpu_and_its_flags(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    info = machine(path)
    assert info["cpu"] == "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"
    assert info["flags"] == ["fpu", "sse2", "popcnt", "avx2", "avx512f", "avx512bw"]
    assert info["cores"] >= 1 and 1 <= info["usable_cores"] <= info["cores"]
    line = summary(info)
    assert "Platinum 8375C" in line and "vector flags: popcnt avx2 avx512f avx512bw" in line


def test_without_cpuinfo_the_flags_are_unknown_not_an_error(tmp_path):
    info = machine(tmp_path / "missing")
    assert info["flags"] == [] and info["cpu"]
    assert "vector flags: none known" in summary(info)
