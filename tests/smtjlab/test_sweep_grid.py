import pytest

from smtjlab.sweep_grid import Sweep, SweepError

GRID = """
images = 50
lengths = [16, 32]
seeds = [0, 1]

[train]
hidden = [[16], [8, 8]]
states = [5]
training = ["plain", "sc"]
epochs = [1]
train_images = 500

[evaluate]
models = ["mlp1-s5-sc"]
"""


def write(tmp_path, text):
    path = tmp_path / "grid.toml"
    path.write_text(text)
    return path


def test_a_grid_becomes_one_task_per_point_with_stable_keys(tmp_path):
    sweep = Sweep.load(write(tmp_path, GRID))
    kinds = [task.kind for task in sweep.tasks]
    assert kinds.count("train") == 2 * 2 * 2  # hidden x training x seeds
    assert kinds.count("evaluate") == 2 * 2  # lengths x seeds
    assert all(task.rows == 2 for task in sweep.tasks if task.kind == "train")
    sc = [task.config for task in sweep.tasks if task.config.get("training") == "sc"]
    assert {config["sc_length"] for config in sc} == {100}
    again = Sweep.load(write(tmp_path, GRID))
    assert [task.key for task in again.tasks] == [task.key for task in sweep.tasks]
    assert len({task.key for task in sweep.tasks}) == len(sweep.tasks)


def test_every_mistake_is_one_line_naming_the_table_and_key(tmp_path):
    text = GRID.replace("\nimages = 50\n", "\nimages = 50\ncolour = 1\n").replace(
        "states = [5]", "states = [4]\nepoch = 3"
    )
    text = text.replace("lengths = [16, 32]", 'lengths = ["16"]')
    with pytest.raises(SweepError) as caught:
        Sweep.load(write(tmp_path, text))
    lines = str(caught.value).splitlines()
    assert len(lines) == 4
    assert all(line.startswith(f"{tmp_path / 'grid.toml'}: ") for line in lines)
    assert any("top level: unknown key 'colour'" in line for line in lines)
    assert any("[train]: unknown key 'epoch'" in line for line in lines)
    assert any("key 'states' must be a list of odd integers" in line for line in lines)
    assert any("key 'lengths' must be a list of integers" in line for line in lines)


@pytest.mark.parametrize(
    "change, message",
    [
        (("lengths = [16, 32]", "lengths = [16, 1000000]"), "key 'lengths'"),
        (("\nimages = 50\n", "\nimages = true\n"), "key 'images'"),
        (('models = ["mlp1-s5-sc"]', 'models = ["nope.npz"]'), "nope.npz"),
        (("seeds = [0, 1]", "seeds = [0, 0]"), "same task twice"),
        (("\nimages = 50\n", '\nimages = 50\nbits = "missing.h5"\n'), "key 'bits'"),
    ],
)
def test_bad_values_are_refused(tmp_path, change, message):
    with pytest.raises(SweepError, match=message):
        Sweep.load(write(tmp_path, GRID.replace(*change)))


def test_unreadable_files_are_one_line(tmp_path):
    with pytest.raises(SweepError, match="not valid TOML"):
        Sweep.load(write(tmp_path, "images = ["))
    with pytest.raises(SweepError, match="cannot read"):
        Sweep.load(tmp_path / "absent.toml")
    with pytest.raises(SweepError, match="no tasks"):
        Sweep.load(write(tmp_path, "images = 5\nlengths = [16]\nseeds = [0]\n"))
