"""The guide's text for the sequence losses: what each one does, when to use it, where it
fails, and its references.  Keyed by loss name; read by ``losskit explain``, the advisor
and the docs."""

from losskit.guide.entries import GuideEntry

ENTRIES: dict[str, GuideEntry] = {
    "ctc": GuideEntry(
        explanation=(
            "For a model that scores every frame of an input (audio, a line of handwriting, "
            "a text image) against a label sequence that is shorter and not aligned to the "
            "frames. A path gives each frame a label or a blank; collapsing repeats and "
            "dropping blanks turns it into a label sequence. CTC is minus the log of the "
            "summed probability of every path that reads as the target, computed by a "
            "forward recursion over time, so no alignment is needed. A target that needs "
            "more frames than the input has (one per label, plus a blank between repeated "
            "labels) has probability 0: the loss is inf, or 0 with zero_infinity=True. "
            "Conventions: inputs are batch first, [B, T, C], as optax and Keras (PyTorch's "
            "CTCLoss takes [T, B, C]); the mean divides each sequence's loss by its target "
            "length, as PyTorch's, while optax and Keras return or average the "
            "per-sequence loss (reduction='none', or 'sum' divided by B); blank is class 0 "
            "by default in all three; optax and Keras take logits (from_logits=True), "
            "PyTorch log-probabilities (the default here)."
        ),
        good_for=(
            "speech recognition, handwriting and text-line recognition: frames in, labels out",
            "training without frame-level alignments, from transcripts alone",
            "monotonic alignments where the output is no longer than the input",
        ),
        not_good_for=(
            "outputs longer than the input, or reordered (translation): use an attention "
            "decoder with cross-entropy",
            "labels that depend on each other: CTC assumes frames are independent given the "
            "input (no language model inside)",
            "frame-level labels that are already aligned: a per-frame cross-entropy is simpler",
        ),
        outlier_sensitivity=(
            "medium: a wrong or too-long transcript gives a large loss (inf when impossible; "
            "zero_infinity drops it), and the mean per target token limits its weight"
        ),
        imbalance_sensitivity=(
            "high: blanks dominate the frames, so models first learn to emit only blanks and "
            "produce peaky outputs; frequent labels are learnt first"
        ),
        input_forms=("frame log-probabilities", "logits", "label sequences"),
        references=(
            (
                "Graves, A., Fernandez, S., Gomez, F. & Schmidhuber, J. (2006). Connectionist "
                "Temporal Classification: Labelling Unsegmented Sequence Data with Recurrent "
                "Neural Networks. International Conference on Machine Learning (ICML)."
            ),
            (
                "Graves, A. (2012). Supervised Sequence Labelling with Recurrent Neural "
                "Networks, Springer, chapter 7."
            ),
        ),
    ),
}
