"""Question answering with semantic pointers (nengo_spa), split across MPI ranks.

A scene of two coloured shapes is made by binding each colour to its shape
(``RED * CIRCLE + BLUE * SQUARE``). A question (``CIRCLE``: "what colour was the
circle?") unbinds the scene by the question's inverse, and an associative memory cleans
the noisy result up to the nearest vocabulary item. The scene and the question change
in four equal phases over ``--time`` seconds. Run it on two MPI ranks::

    mpirun -np 2 python -m nengo_mpi examples/spa_question_answering.py --plot qa.png

(the network is split into as many components as the job has ranks, or
``--components N``), or in one process with
``python examples/spa_question_answering.py``. At least 0.25 s per phase (``--time 1``)
lets each answer settle; it prints which answer won in each phase.
"""

import argparse

import numpy as np
import nengo
import nengo_spa as spa

import nengo_mpi

#: Every word the model knows.
WORDS = "RED; BLUE; GREEN; CIRCLE; SQUARE; TRIANGLE"

#: Each phase: the two (colour, shape) pairs of the scene, the question, the answer.
PHASES = [
    ((("RED", "CIRCLE"), ("BLUE", "SQUARE")), "CIRCLE", "RED"),
    ((("RED", "CIRCLE"), ("BLUE", "SQUARE")), "SQUARE", "BLUE"),
    ((("GREEN", "TRIANGLE"), ("RED", "SQUARE")), "RED", "SQUARE"),
    ((("GREEN", "TRIANGLE"), ("RED", "SQUARE")), "TRIANGLE", "GREEN"),
]


def build_network(phase_time, dimensions=64, seed=0):
    """The question-answering network.

    Parameters
    ----------
    phase_time : float
        Seconds each phase of `PHASES` lasts.
    dimensions : int
        Dimensionality of the semantic pointers.
    seed : int
        Seed of the network and of the vocabulary.

    Returns
    -------
    nengo_spa.Network
        With attributes ``vocab`` (the vocabulary) and ``answer_probe`` (the cleaned-up
        answer, filtered).
    """
    # A seeded vocabulary: under MPI every rank builds the network, and an unseeded
    # vocabulary would differ between the processes.
    vocab = spa.Vocabulary(dimensions, pointer_gen=np.random.RandomState(seed))
    vocab.populate(WORDS)

    def phase(t):
        return PHASES[min(int(t / phase_time), len(PHASES) - 1)]

    def item(pair, index):
        return lambda t: phase(t)[0][pair][index]

    with spa.Network(seed=seed, label="question_answering") as net:
        colour_a = spa.Transcode(item(0, 0), output_vocab=vocab, label="colour_a")
        shape_a = spa.Transcode(item(0, 1), output_vocab=vocab, label="shape_a")
        colour_b = spa.Transcode(item(1, 0), output_vocab=vocab, label="colour_b")
        shape_b = spa.Transcode(item(1, 1), output_vocab=vocab, label="shape_b")
        question = spa.Transcode(lambda t: phase(t)[1], output_vocab=vocab,
                                 label="question")

        scene = spa.State(vocab, label="scene")
        answer = spa.State(vocab, label="answer")
        cleanup = spa.WTAAssocMem(threshold=0.3, input_vocab=vocab, mapping=vocab.keys(),
                                  label="cleanup")

        colour_a * shape_a + colour_b * shape_b >> scene
        scene * ~question >> answer
        answer >> cleanup

        net.vocab = vocab
        net.answer_probe = nengo.Probe(cleanup.output, synapse=0.03)
    return net


def answers(t, similarity, phase_time):
    """The word most similar to the answer over the second half of each phase.

    Parameters
    ----------
    t : numpy.ndarray
        Sample times, shape ``(n,)``.
    similarity : numpy.ndarray
        Similarity of the answer to each word of the vocabulary, shape ``(n, words)``.
    phase_time : float
        Seconds per phase.

    Returns
    -------
    list of (int, float)
        For each phase: the index of the winning word and its mean similarity (NaN and
        index -1 for a phase the run did not reach).
    """
    won = []
    for i in range(len(PHASES)):
        late = (t > (i + 0.5) * phase_time) & (t <= (i + 1) * phase_time)
        if not late.any():
            won.append((-1, float("nan")))
            continue
        mean = similarity[late].mean(axis=0)
        won.append((int(np.argmax(mean)), float(np.max(mean))))
    return won


def plot(path, t, similarity, keys, phase_time):
    """Save the answer's similarity to each word over time as a PNG."""
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    plt.figure(figsize=(9, 4))
    plt.plot(t, similarity)
    for i, (_, question, _) in enumerate(PHASES):
        plt.axvline(i * phase_time, color="0.8", lw=0.8)
        plt.text((i + 0.05) * phase_time, 1.05, f"{question}?", fontsize=8)
    plt.ylim(-0.5, 1.2)
    plt.xlabel("time [s]")
    plt.ylabel("similarity of the answer")
    plt.legend(keys, loc="lower right", fontsize=8, ncol=2)
    plt.tight_layout()
    plt.savefig(path)


def main(argv=None):
    """Run the example with the command-line arguments ``argv`` (default: sys.argv)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time", type=float, default=2.0,
                        help="simulated seconds (four equal phases; default 2)")
    parser.add_argument("--dimensions", type=int, default=64,
                        help="dimensionality of the semantic pointers (default 64)")
    parser.add_argument("--components", type=int, default=None,
                        help="components to split the network into (default: the "
                        "number of MPI ranks)")
    parser.add_argument("--seed", type=int, default=0, help="network seed (default 0)")
    parser.add_argument("--plot", default=None, help="save a PNG plot to this path")
    args = parser.parse_args(argv)
    if not args.time > 0:
        parser.error("--time must be positive")
    if args.dimensions < 2:
        parser.error("--dimensions must be at least 2")
    if args.components is not None and args.components < 1:
        parser.error("--components must be at least 1")

    components = args.components or nengo_mpi.n_ranks()
    phase_time = args.time / len(PHASES)
    net = build_network(phase_time, dimensions=args.dimensions, seed=args.seed)
    partitioner = nengo_mpi.Partitioner(components)
    with nengo_mpi.Simulator(net, partitioner=partitioner, progress_bar=False) as sim:
        sim.run(args.time)

    t = sim.trange()
    keys = list(net.vocab.keys())
    similarity = spa.similarity(sim.data[net.answer_probe], net.vocab)
    used = sorted(set(sim.assignments.values()))
    print(f"{args.dimensions}-D semantic pointers, {components} components "
          f"(used: {used}), simulated {t[-1]:.3f} s in {sim.n_steps} steps")
    correct = 0
    for i, ((scene, question, expected), (won, value)) in enumerate(
            zip(PHASES, answers(t, similarity, phase_time))):
        described = " + ".join(f"{c}*{s}" for c, s in scene)
        if won < 0:
            print(f"phase {i + 1}: {described}, {question}? not reached")
            continue
        correct += keys[won] == expected
        print(f"phase {i + 1}: {described}, {question}? answer {keys[won]} "
              f"(similarity {value:.2f}; expected {expected})")
    print(f"answered {correct} of {len(PHASES)} questions correctly")

    if args.plot:
        plot(args.plot, t, similarity, keys, phase_time)
        print(f"plot saved to {args.plot}")


if __name__ == "__main__":
    main()
