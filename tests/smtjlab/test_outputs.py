"""The overwrite policy of smtjlab.outputs: check first, temp file + rename, never destroy."""

from __future__ import annotations

import os
import stat

import pytest

from smtjlab.outputs import OutputError, OutputFile


def leftovers(folder):
    return sorted(path.name for path in folder.iterdir() if ".tmp" in path.name)


def test_a_new_output_is_written_through_a_temporary_file(tmp_path):
    output = OutputFile(tmp_path / "out.txt")
    assert not (tmp_path / "out.txt").exists()  # checking creates nothing
    with output.writing() as temp:
        assert temp.parent == tmp_path and temp != output.path
        temp.write_text("new")
        assert not output.path.exists()  # only renamed once the work is done
    assert output.path.read_text() == "new"
    assert leftovers(tmp_path) == []


def test_the_output_gets_the_usual_file_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        with OutputFile(tmp_path / "out.txt").writing() as temp:
            temp.write_text("x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == 0o644


def test_an_existing_file_is_refused_without_force_and_replaced_with_it(tmp_path):
    path = tmp_path / "keep.txt"
    path.write_text("precious")
    with pytest.raises(OutputError, match="exists; pass --force to replace it"):
        OutputFile(path)
    with OutputFile(path, force=True).writing() as temp:
        temp.write_text("replacement")
    assert path.read_text() == "replacement"


def test_a_failure_deletes_only_the_temporary_file(tmp_path):
    path = tmp_path / "keep.txt"
    path.write_text("precious")
    output = OutputFile(path, force=True)
    with pytest.raises(RuntimeError), output.writing() as temp:
        temp.write_text("half")
        raise RuntimeError("the work failed")
    assert path.read_text() == "precious"
    assert leftovers(tmp_path) == []


def test_an_interrupt_deletes_only_the_temporary_file(tmp_path):
    output = OutputFile(tmp_path / "new.txt")
    with pytest.raises(KeyboardInterrupt), output.writing() as temp:
        temp.write_text("half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_a_symlink_output_is_replaced_never_its_target(tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("precious")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with pytest.raises(OutputError, match="exists"):
        OutputFile(link)
    with OutputFile(link, force=True).writing() as temp:
        temp.write_text("new")
    assert target.read_text() == "precious"
    assert not link.is_symlink() and link.read_text() == "new"


@pytest.mark.parametrize("force", [False, True])
def test_the_input_is_found_by_identity_through_hard_links_and_symlinks(tmp_path, force):
    source = tmp_path / "in.h5"
    source.write_bytes(b"data")
    hard, soft = tmp_path / "hard.h5", tmp_path / "soft.h5"
    os.link(source, hard)
    soft.symlink_to(source)
    for alias in (source, hard, soft):
        with pytest.raises(OutputError, match="is the same file as the input"):
            OutputFile(alias, force=force, inputs=[source])
    assert source.read_bytes() == b"data"


def test_a_directory_is_not_an_output(tmp_path):
    with pytest.raises(OutputError, match="is a directory"):
        OutputFile(tmp_path, force=True)


def test_devices_and_pipes_are_not_outputs(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    device = tmp_path / "null"
    device.symlink_to(os.devnull)
    for path in (fifo, device):
        with pytest.raises(OutputError, match="not a regular file"):
            OutputFile(path, force=True)
    assert stat.S_ISFIFO(fifo.stat().st_mode) and device.is_symlink()


def test_a_missing_folder_is_refused_unless_the_command_makes_it(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        OutputFile(tmp_path / "no" / "such" / "out.txt")
    output = OutputFile(tmp_path / "made" / "out.txt", make_folder=True)
    assert not (tmp_path / "made").exists()  # made only when the output is written
    with output.writing() as temp:
        temp.write_text("x")
    assert output.path.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_folder_is_refused(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    with pytest.raises(OutputError, match="is not writable"):
        OutputFile(folder / "out.txt")


def test_a_file_that_appears_during_the_work_is_not_overwritten(tmp_path):
    path = tmp_path / "out.txt"
    output = OutputFile(path)
    path.write_text("someone else's")
    with pytest.raises(OutputError, match="exists"), output.writing() as temp:
        temp.write_text("ours")
    assert path.read_text() == "someone else's"
    assert leftovers(tmp_path) == []


def holds_data(path):
    return path.stat().st_size > 0


def test_appending_fills_a_new_output_in_place_and_keeps_it_after_a_failure(tmp_path):
    output = OutputFile(tmp_path / "rec.bin")
    with pytest.raises(RuntimeError), output.appending(keep=holds_data) as target:
        assert target == output.path and target.exists()  # created at once, new
        target.write_bytes(b"chunk")
        raise RuntimeError("link dropped")
    assert output.path.read_bytes() == b"chunk"


def test_appending_deletes_a_new_output_that_got_no_data(tmp_path):
    output = OutputFile(tmp_path / "rec.bin")
    with pytest.raises(RuntimeError), output.appending(keep=holds_data):
        raise RuntimeError("no instrument")
    assert list(tmp_path.iterdir()) == []


def test_appending_with_force_keeps_the_old_file_until_the_new_one_has_data(tmp_path):
    path = tmp_path / "rec.bin"
    path.write_bytes(b"old recording")
    output = OutputFile(path, force=True)
    with pytest.raises(RuntimeError), output.appending(keep=holds_data) as target:
        assert target != path
        raise RuntimeError("failed before the first chunk")
    assert path.read_bytes() == b"old recording"
    assert leftovers(tmp_path) == []
    with pytest.raises(KeyboardInterrupt), output.appending(keep=holds_data) as target:
        target.write_bytes(b"partial")
        raise KeyboardInterrupt
    assert path.read_bytes() == b"partial"  # what was recorded replaces what --force named
    with output.appending(keep=holds_data) as target:
        target.write_bytes(b"whole")
    assert path.read_bytes() == b"whole" and leftovers(tmp_path) == []
