from smtjlab.gui.inference_view import InferenceView, ModelChoice
from smtjlab.inference.checkpoint import SHIPPED_NAMES, load_checkpoint


def test_every_choice_of_the_model_list_is_a_shipped_sc_trained_checkpoint(qtbot):
    view = InferenceView()
    qtbot.addWidget(view)
    chosen = []
    view.model_changed.connect(chosen.append)
    encodings = [view.encoding.itemText(i) for i in range(view.encoding.count())]
    assert encodings == ["sign-magnitude", "bipolar"]
    names = set()
    for encoding in encodings:
        for hidden in (1, 3):
            for states in (5, 11):
                view.set_choice(ModelChoice(hidden, states, 200, encoding))
                choice = view.choice()
                assert choice == ModelChoice(hidden, states, 200, encoding)
                checkpoint = load_checkpoint(choice.checkpoint)
                assert checkpoint.encoding == encoding and checkpoint.train_mode == "sc"
                names.add(choice.checkpoint)
    assert names == {name for name in SHIPPED_NAMES if "-sc" in name}
    assert chosen[-1].encoding == "bipolar"
