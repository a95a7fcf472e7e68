"""Smoke tests of the recurrent and DNI examples at small settings: they run, are deterministic, write their
plot, and still learn (thresholds far above chance, below what the full settings reach)."""
import pytest

from examples import dni_binary_addition, dni_digits, rnn_binary_addition


@pytest.mark.parametrize("module", [rnn_binary_addition, dni_digits, dni_binary_addition])
def test_help(module, capsys):
    with pytest.raises(SystemExit) as e:
        module.main(["--help"])
    assert e.value.code == 0
    assert "--epochs" in capsys.readouterr().out


def test_rnn_learns_binary_addition_with_truncated_bptt(tmp_path):
    plot = tmp_path / "rnn.png"
    args = ["--epochs", "8", "--train-pairs", "500", "--batch-size", "4", "--lr", "0.5", "--bptt", "4",
            "--quiet", "--plot", str(plot)]
    r = rnn_binary_addition.main(args)
    # Scored on the 15,884 pairs never seen in training; 8 bits exactly right is 1/256 by chance.
    assert r["n_heldout"] == 128 * 128 - 500
    assert r["heldout"]["exact_accuracy"] >= 0.9
    assert plot.stat().st_size > 0


def test_dni_digits_small_run_decouples_and_learns():
    r = dni_digits.main(["--epochs", "12", "--repeats", "1", "--quiet"])
    acc = r["accuracy"]
    assert acc["backprop"][0] >= 0.9
    assert acc["cdni"][0] >= 0.85 and acc["cdni"][0] > acc["last_layer"][0] + 0.1
    assert acc["dni"][0] > acc["last_layer"][0]
    assert r["seeds"] == [0]
    again = dni_digits.main(["--epochs", "12", "--repeats", "1", "--quiet", "--methods", "dni"])
    assert again["accuracy"]["dni"] == acc["dni"]  # deterministic given --seed


def test_dni_binary_addition_small_run_learns():
    r = dni_binary_addition.main(["--epochs", "25", "--quiet"])
    bits = r["train_bits"]  # chance (and the last layer alone, on random features) is about 0.5
    assert bits["backprop"][0] >= 0.68
    assert bits["cdni"][0] >= 0.58 and bits["cdni"][0] > bits["last_layer"][0] + 0.05
    assert bits["dni"][0] > bits["last_layer"][0]  # with its own, small hidden-layer rate
    assert r["hidden_lr"]["dni"] < r["hidden_lr"]["cdni"]


def test_dni_binary_addition_sweep_picks_the_best_hidden_rate():
    r = dni_binary_addition.main(["--epochs", "2", "--quiet", "--sweep", "--methods", "dni", "last_layer"])
    grid = r["sweep"]["dni"]
    assert sorted(grid) == sorted(dni_binary_addition.SWEEP_GRID) and "last_layer" not in r["sweep"]
    assert r["hidden_lr"]["dni"] == max(grid, key=grid.get)
    assert r["mean_train_bits"]["dni"] == grid[r["hidden_lr"]["dni"]]  # the chosen run is rerun identically
