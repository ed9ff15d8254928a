"""Lessons: short guided experiments, written as plain data.

Each lesson asks one question and answers it with a set-up a learner can run: a preset plus knob
overrides, either one run or 2-4 variants trained from the same seed (same initial weights, data
order and z), so the only difference between two variants is the knobs they change.  A page renders
the text and turns the set-up into a link to the Train or Compare page; ``configs`` turns it into
the TrainConfigs it trains.  Every claim an explanation makes is measured by
``tests/core/test_lessons.py`` at the lesson's seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import TrainConfig
from .presets import preset

Changes = dict[str, Any]     # knob name -> value, as TrainConfig.replace takes them

_GAME = r"\min_G \max_D \; \mathbb{E}_{x}[\log D(x)] + \mathbb{E}_{z}[\log(1 - D(G(z)))]"


@dataclass(frozen=True)
class Lesson:
    """One question, the set-up that answers it and the text around it.  Treat as read-only: the
    dicts are shared by every page that shows the lesson."""

    slug: str
    title: str
    question: str            # one sentence
    preset: str              # the set-up starts from this preset ...
    steps: int               # ... trains this many steps ...
    watch: str               # what to look at on the page while it trains
    explanation: str         # what happens and why (markdown)
    objective: str           # the objective that matters here (LaTeX)
    try_next: tuple[str, ...]
    changes: Changes = field(default_factory=dict)                # ... with these knobs changed,
    variants: dict[str, Changes] = field(default_factory=dict)    # ... and these runs compared

    @property
    def is_comparison(self) -> bool:
        """A comparison opens on the Compare page; a single run on the Train page."""
        return bool(self.variants)


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        slug="the-game",
        title="The game: D(x) and D(G(z)) meet at ½",
        question="Where do D's verdicts on real and generated samples go while G and D play?",
        preset="toy-grid", changes={"batch_size": 64}, steps=600,
        watch="The D(x) / D(G(z)) chart: the two curves part in the first 50 steps, then close in on 0.5.",
        explanation=(
            "D learns first: G starts as a small blob at the centre of the grid, easy to tell from "
            "25 spread-out modes, so within 50 steps D says about 0.78 to real points and 0.26 to "
            "G's. G then follows D's gradient out over the grid, and by step 550 both verdicts sit "
            "at 0.50.\n\n"
            "For a fixed G the best D is $D^*(x) = p_{data}(x) / (p_{data}(x) + p_g(x))$, which is "
            "½ everywhere exactly when $p_g = p_{data}$: the equilibrium of the game. Seed 001 "
            "shows the same drift on MNIST over 200 epochs (D(x) 0.74 and D(G(z)) 0.23 at epoch "
            "50, 0.62 and 0.37 at epoch 200). Verdicts at ½ are what the equilibrium looks like, "
            "not proof of it: see *A loss at ln 2 is not a learned pattern*."),
        objective=_GAME + r", \qquad D^*(x) = \frac{p_{data}(x)}{p_{data}(x) + p_g(x)}",
        try_next=("Open the mode-coverage tiles at step 600: how many of the 25 modes are covered, "
                  "and how sharp are the samples?",
                  "Run seed-001-mlp, the seed's own MNIST set-up with held-out D(x) and D(G(z)) "
                  "every 20 steps: how long until the curves turn back towards ½?")),
    Lesson(
        slug="bce-vs-log",
        title="Library BCE vs the hand-written log loss",
        question="Seed 001 writes the paper's loss by hand, seed 000 calls binary cross-entropy: "
                 "same mathematics, so does it matter which?",
        preset="seed-001-mlp", changes={"lr_g": 0.01, "lr_d": 0.01}, steps=20,
        variants={"hand-written log (seed 001)": {"loss": "log"},
                  "library BCE (seed 000)": {"loss": "bce"}},
        watch="The loss chart of both runs, and the message the hand-written run stops with.",
        explanation=(
            "Both forms compute $-\\log D(x) - \\log(1 - D(G(z)))$: at step 1 the two runs report "
            "the same losses to the last digit. They differ in arithmetic only. D ends in a "
            "Sigmoid, and in float32 a Sigmoid returns exactly 1.0 once its input passes about "
            "17. With a learning rate 50 times seed 001's, D gets there at step 2: the "
            "hand-written $\\log(1 - 1) = \\log 0 = -\\infty$ makes D's loss infinite, its gradient "
            "NaN, and the trainer stops and rolls back to its last good state.\n\n"
            "PyTorch's `binary_cross_entropy` clamps every log at -100, so the same step reports a "
            "finite loss (12.5) and training goes on. The clamp hides the overflow, not the cause: "
            "by step 20 D says 1.00 to real digits and almost 0 to G's, and G's loss is over 50. "
            "At seed 001's own learning rate D stays clear of exactly 0 and 1, and either form works."),
        objective=r"\mathcal{L}_D = -\mathbb{E}_x[\log D(x)] - \mathbb{E}_z[\log(1 - D(G(z)))], "
                  r"\qquad \mathrm{BCE}: \; \log p \to \max(\log p, -100)",
        try_next=("Lower both learning rates to 0.002: do the two runs stay identical?",
                  "Switch the loss to mse: is a least-squares D also exposed to the overflow?")),
    Lesson(
        slug="saturating-g-loss",
        title="Saturating vs non-saturating G loss",
        question="Why does seed 001 train G to maximise log D(G(z)) instead of minimising "
                 "log(1 - D(G(z))), the objective the game actually states?",
        preset="seed-001-mlp", changes={"batch_size": 64}, steps=40,
        variants={"non-saturating (seed 001)": {"g_loss": "non_saturating"},
                  "saturating (minimax)": {"g_loss": "saturating"}},
        watch="D(G(z)) on the D(x) / D(G(z)) chart, and G's loss: the saturating one flattens "
              "towards 0 while D wins.",
        explanation=(
            "Early on D learns to reject G's samples, so D(G(z)) falls towards 0. Through D's "
            "final Sigmoid the gradient of G's loss with respect to D's logit is $-D(G(z))$ for "
            "$\\log(1 - D(G(z)))$ but $-(1 - D(G(z)))$ for $-\\log D(G(z))$: the minimax form "
            "goes silent exactly when G is worst and most needs to learn.\n\n"
            "From the same start, over steps 31-40 G's gradient is about 35 times smaller with "
            "the saturating loss (norm 0.2 against 7), and D(G(z)) sinks to 0.04 against 0.14. Both "
            "objectives have the same fixed point; the non-saturating one (section 3 of the GAN "
            "paper, the comment in seed 001's code) only keeps G's gradient alive on the way there."),
        objective=r"\text{saturating: } \min_G \mathbb{E}_z[\log(1 - D(G(z)))] \qquad "
                  r"\text{non-saturating: } \max_G \mathbb{E}_z[\log D(G(z))]",
        try_next=("Train the saturating run for a few hundred steps: does G ever catch up?",)),
    Lesson(
        slug="noise",
        title="The noise: U(-1, 1), U[0, 1) or N(0, 1)",
        question="Seeds 000, 004 and 001 feed G different noise: what changes for G?",
        preset="seed-000-vanilla", steps=300,
        variants={"U(-1, 1) (seed 000)": {"noise": "uniform_pm1"},
                  "U[0, 1) (seed 004)": {"noise": "uniform01"},
                  "N(0, 1) (seed 001)": {"noise": "normal"}},
        watch="The samples grid before the first step: the same untrained G, three kinds of z.",
        explanation=(
            "z is G's only source of variety, and the three choices spread it differently: "
            "standard deviation 1 for N(0, 1), $1/\\sqrt{3} \\approx 0.58$ for U(-1, 1) and "
            "$1/\\sqrt{12} \\approx 0.29$ for U[0, 1). G starts close to linear, so its first "
            "samples inherit the spread: with the same initial weights their pixels vary from "
            "sample to sample 3 times more with N(0, 1) than with U[0, 1) (0.18, 0.11 and 0.06 "
            "for N(0, 1), U(-1, 1) and U[0, 1)).\n\n"
            "U[0, 1) also puts every z in the positive corner: each entry has mean ½, a constant "
            "offset G's first layer must absorb. It can: $U[0, 1) = (U(-1, 1) + 1)/2$, and a "
            "Linear layer that doubles its weights and shifts its bias turns one into the other, "
            "so the two uniforms differ in G's starting point only. N(0, 1) differs in shape: "
            "unbounded tails, a round cloud instead of a cube."),
        objective=r"z \sim \mathcal{N}(0, I), \; U(-1, 1)^d, \; U[0, 1)^d, \qquad "
                  r"x = G(z) \sim p_g",
        try_next=("Train all three for 300 steps: do the loss curves still differ?",)),
    Lesson(
        slug="strong-discriminator",
        title="A discriminator that is too strong",
        question="What happens when D learns much faster than G?",
        preset="seed-000-vanilla", steps=100,
        variants={"balanced (seed 000)": {},
                  "strong D: lr_d 10x, k = 5": {"lr_d": 0.01, "d_steps": 5}},
        watch="The D(x) / D(G(z)) chart and G's loss on the loss chart.",
        explanation=(
            "Seed 000 gives D and G the same learning rate and alternates one step each. Give D "
            "ten times G's learning rate and five updates per G update (the paper's inner loop "
            "k) and D wins the game outright: by steps 16-25 it says 1.00 to real digits and 0.01 "
            "to G's, and G's loss has climbed from 8 (steps 1-10) to 11, against 0.7 in the "
            "balanced run.\n\n"
            "A D that wins outright is a poor teacher: it rejects everything G makes with "
            "near certainty, and G's loss rises instead of falling. The paper's k D steps are "
            "meant to keep D near its optimum for a G that changes slowly, not to let D outrun G."),
        objective=_GAME + r", \qquad k \text{ D steps per G step}",
        try_next=("Keep k = 5 but give D seed 000's learning rate: is D still too strong?",
                  "Try the opposite imbalance, lr_g 10x lr_d.")),
    Lesson(
        slug="mode-collapse",
        title="Mode collapse, and two cures: R1 and packing",
        question="Why does G sometimes pile all its samples on one mode of the ring, and what "
                 "keeps every mode?",
        preset="toy-ring-collapse", changes={"lr_decay": 0.5}, steps=2000,
        variants={"collapse": {}, "R1 penalty (r1_gamma 1)": {"r1_gamma": 1.0},
                  "PacGAN (pack 4)": {"pack": 4}},
        watch="The toy picture and the mode tiles: reverse KL (2.08 = one mode, 0 = all eight "
              "equally) and modes covered.",
        explanation=(
            "The collapse recipe gives Adam heavy momentum (beta1 0.9), large steps and small "
            "batches. D learns to reject the mode G sits on, G jumps to a neighbouring mode, D "
            "follows: the cat-and-mouse never lets G spread out. By step 250 nearly all of G's "
            "samples sit nearest one mode: reverse KL 2.08, which is log 8, the value for a single "
            "mode, and no mode is covered.\n\n"
            "R1 penalises the slope of D's logit on real data, so D stays smooth on the modes "
            "and stops chasing G from one to the next: from the same start G's samples spread "
            "out around the ring (reverse KL 0.19 at step 250). Packing shows D four samples "
            "at once, so a batch that is all one mode looks fake as a whole. At these step sizes "
            "it helps less: its reverse KL still swings between 0.6 and 1.2 until the learning "
            "rates start to decay at step 1000. The decay then settles every run where it is: at step "
            "2000 both cures cover all 8 modes (reverse KL 0.00 with R1, 0.01 with packing) and "
            "the collapse run covers none."),
        objective=r"\mathcal{L}_D^{R1} = \mathcal{L}_D + \frac{\gamma}{2} \mathbb{E}_x "
                  r"\|\nabla_x \mathrm{logit}\, D(x)\|^2",
        try_next=("Set beta1 back to 0.5 on the collapse run: does it still collapse?",
                  "Open toy-grid-sharp: R1 with 25 modes.")),
    Lesson(
        slug="ln2-is-not-a-pattern",
        title="A loss at ln 2 is not a learned pattern",
        question="Seed 002's losses settle at 0.69: has G learnt the 1010 pattern?",
        preset="seed-002-pattern", steps=500,
        watch="The loss chart (both curves flat at 0.69) next to G's row in the pattern picture.",
        explanation=(
            "ln 2 ≈ 0.693 is the binary cross-entropy of a D that answers ½ to everything: the "
            "loss of the equilibrium, where D cannot tell G's rows from real ones. But D also "
            "answers ½ when it has simply stopped telling them apart. Here, over steps 400-500, "
            "D's loss averages 0.694 and G's 0.687, D says 0.50 to real rows and to G's alike, "
            "yet G's row is (-0.04, -0.02, 1.16, 0.79, -0.01, 0.06): 3 of its 6 values sit on the wrong side "
            "of ½ for the pattern high-low-high-low-high-low.\n\n"
            "With a constant input G makes one row only, and seed 002's D is three units wide "
            "behind LayerNorm: a tiny judge that has settled on ½ for both. A loss curve says "
            "how D and G score each other, never what G makes: look at the samples."),
        objective=r"\mathcal{L}_D = -\tfrac12\log D(x) - \tfrac12\log(1 - D(G(z))) = \ln 2 "
                  r"\Leftarrow D(x) = D(G(z)) = \tfrac12",
        try_next=("Train on to 10,000 steps (the seed ran 100,000): does G's row change while the "
                  "loss stays at ln 2?",)),
    Lesson(
        slug="batchnorm-eps",
        title="BatchNorm with eps 0.8",
        question="Seed 003's generator uses BatchNorm1d(n, 0.8): is 0.8 a small safety constant?",
        preset="seed-003-bn-mlp", steps=300,
        variants={"eps 0.8 (seed 003)": {"bn_eps": 0.8},
                  "eps 1e-5 (PyTorch's default)": {"bn_eps": 1e-5}},
        watch="The samples grid over the first steps: with eps 0.8 the samples look more alike.",
        explanation=(
            "BatchNorm divides by $\\sqrt{\\sigma^2 + \\epsilon}$. The eps was meant to avoid "
            "dividing by zero; but the second positional argument of `BatchNorm1d` is eps, so "
            "`BatchNorm1d(n, 0.8)` (perhaps meant as momentum) sets it to 0.8, larger than the "
            "variance of G's hidden activations at the start (0.05 in the first "
            "normalised layer). So BatchNorm shrinks instead of normalising: the three layers "
            "put out standard deviations of 0.23, 0.10 and 0.04 instead of 1, each damping the "
            "next.\n\n"
            "G's first training batch hardly depends on z: its pixels vary from sample to sample "
            "20 times less than with eps 1e-5, and after 10 steps the samples on the page still "
            "vary 3.7 times less. BatchNorm's own scale can learn to undo the damping, but G "
            "starts with almost no variety to offer D."),
        objective=r"\mathrm{BN}(h) = \gamma \frac{h - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}} + \beta",
        try_next=("Train both for 300 steps: which one gives varied digits first?",)),
    Lesson(
        slug="dcgan-on-a-cpu",
        title="DCGAN: the 64x64 seed and the small recipe",
        question="Why is seed 004's DCGAN slow on a CPU, and what does dcgan-small change?",
        preset="seed-004-dcgan", steps=20,
        variants={"seed 004: 64x64, ngf = ndf = 64": {},
                  "dcgan-small: 28x28, ngf = ndf = 32": {
                      "image_size": 28, "ngf": 32, "ndf": 32, "d_first_bn": False,
                      "noise": "normal", "order": "d_first", "r1_gamma": 1.0}},
        watch="Steps per second of the two runs, and the layer table on the Train page.",
        explanation=(
            "Cost grows with the image side squared and with the widths multiplied: seed 004 "
            "upsamples MNIST to 64x64 with 64 base channels, so one sample costs 55 times the "
            "multiply-adds of dcgan-small (28x28, 32 channels), and its G and D hold 10 and 76 "
            "times the parameters (3.6 M and 2.8 M against 0.35 M and 37 k). A few seconds per step "
            "on a CPU core, where dcgan-small takes a fraction of one.\n\n"
            "Seed 004 also stopped early as unstable. The DCGAN paper warns that BatchNorm on "
            "every layer made samples oscillate and leaves it out of D's input layer, which the "
            "seed puts back; dcgan-small drops it, draws z from N(0, 1), updates D first and "
            "adds an R1 penalty to keep D from memorising the 4,000 offline digits."),
        objective=_GAME + r", \qquad \text{cost per sample} \propto \sum_\ell k_\ell^2 \, "
                  r"C^{in}_\ell C^{out}_\ell H_\ell W_\ell",
        try_next=("Give dcgan-small image_size 64: how much slower is each step?",)),
)


def lesson(slug: str) -> Lesson:
    """The lesson called ``slug``."""
    for item in LESSONS:
        if item.slug == slug:
            return item
    raise KeyError(f"unknown lesson {slug!r}; choose one of: {', '.join(x.slug for x in LESSONS)}")


def overrides(item: Lesson) -> dict[str, Changes]:
    """Run name -> its knob overrides relative to ``item.preset`` (what a page's link carries).
    A single run is named after its preset."""
    runs = item.variants or {item.preset: {}}
    return {name: {**item.changes, **changes, "steps": item.steps} for name, changes in runs.items()}


def configs(item: Lesson) -> dict[str, TrainConfig]:
    """Run name -> the validated TrainConfig it trains."""
    return {name: preset(item.preset, **changes) for name, changes in overrides(item).items()}
