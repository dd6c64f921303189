"""The guide's text for the generative losses: what each one does, when to use it, where it
fails, and its references.  Keyed by loss name; read by ``losskit explain``, the advisor
and the docs."""

from losskit.guide.entries import GuideEntry
from losskit.guide.text._references import ARJOVSKY_2017, GOODFELLOW_2014, LIM_2017, MAO_2017

ENTRIES: dict[str, GuideEntry] = {
    "gan_discriminator": GuideEntry(
        explanation=(
            "A GAN trains two networks against each other: the discriminator (or critic) "
            "learns to tell real samples from generated ones, the generator to fool it. This "
            "is the discriminator's side: low when it scores real samples high and generated "
            "ones low. The variants differ in how the scores are penalised: a logistic "
            "classifier (minimax), squared distances to target values (least squares), a "
            "margin (hinge), or a plain difference of means (Wasserstein critic)."
        ),
        good_for=(
            "training GAN discriminators and critics",
            "switching GAN formulations with one option, paired with gan_generator",
        ),
        not_good_for=(
            "anything but adversarial training",
            (
                "'wasserstein' without a Lipschitz constraint (gradient penalty, clipping, "
                "spectral norm): the critic diverges"
            ),
        ),
        outlier_sensitivity=(
            "medium: least_squares grows quadratically with far-off scores; the logistic and "
            "hinge variants grow at most linearly"
        ),
        imbalance_sensitivity="not applicable: real and generated samples come in matched batches",
        input_forms=(
            "discriminator outputs",
            "logits",
            "probabilities",
            "scores",
        ),
        references=(
            GOODFELLOW_2014,
            MAO_2017,
            LIM_2017,
            ARJOVSKY_2017,
        ),
    ),
    "gan_generator": GuideEntry(
        explanation=(
            "The generator's side of a GAN: low when the discriminator scores the generated "
            "samples as real. The original minimax loss log(1 - D) saturates when the "
            "discriminator wins easily, so most GANs use the non-saturating -log D instead; "
            "least squares pulls the scores towards the 'real' value, and the hinge and "
            "Wasserstein generators simply raise the critic's score."
        ),
        good_for=("training GAN generators, paired with gan_discriminator of the same family",),
        not_good_for=(
            "anything but adversarial training",
            (
                "'minimax' where the discriminator wins early (high-dimensional data such as "
                "images): its gradient vanishes while the generator is poor. The lab's 2-D "
                "ring is not such a case: there minimax trained as well as least squares "
                "and hinge, and non-saturating came last (In the lab, below)"
            ),
        ),
        outlier_sensitivity=(
            "medium: least_squares grows quadratically with far-off scores; the others grow "
            "at most linearly"
        ),
        imbalance_sensitivity="not applicable: there are no classes",
        input_forms=(
            "discriminator outputs",
            "logits",
            "probabilities",
            "scores",
        ),
        references=(
            GOODFELLOW_2014,
            MAO_2017,
            LIM_2017,
            ARJOVSKY_2017,
        ),
    ),
}
