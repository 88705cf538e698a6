"""ntpbook_lib: the objects of next-token prediction's implicit geometry (T24, Z24), computed exactly.

T24: C. Thrampoulidis, Implicit Optimization Bias of Next-Token Prediction in Linear Models, NeurIPS 2024.
Z24: Y. Zhao, T. Behnia, V. Vakilian, C. Thrampoulidis, Implicit Geometry of Next-token Prediction, COLM 2024.
"""

from . import plotting
from .display import build_environment, glue, table
from .corpus import context_length_statistics, encode, load_text, tokenize
from .data import NTPData
from .generators import (
    count_entropy_range,
    dirichlet_expected_entropy,
    gaussian_embeddings,
    random_ntp_data,
    random_supports,
    symmetric_supports,
)
from .loss import ce_decomposition, ce_loss, log_softmax, restricted_ce_loss
from .separability import (
    cover_probability,
    data_subspace,
    is_compatible,
    is_separable,
    lemma1_witnesses,
    lifted_points,
    logodds_solution,
    ntp_margin,
    separability_phase_transition,
)
from .nuclear_svm import (
    centered_support,
    certificate,
    logits_in,
    measure_symmetric_geometry,
    mm_embeddings,
    ntp_svm_logits,
    project_logits_F,
    project_logits_F_perp,
    symmetric_geometry,
)
from .svm import ntp_svm
from .runtime import cpu_threads, log_schedule, small_problem_threads
from .training import alignment, implicit_bias_reference, train_linear, train_logits
from .regularization import genie_excess, regularization_path, ridge_solution
from .margins import margin_metrics, margin_references, matrix_norm, ntp_svm_norm
from .optimizers import Muon, ScheduledAdam, SignDescent, SteepestDescent, newton_schulz, optimizer, train_minibatch
from .language import (
    LanguageData,
    line_contexts,
    pairs_data,
    resample_counts,
    simplified_language,
    stream_contexts,
    synthetic_sentences,
    text_contexts,
)
from .models import ContextLSTM, ContextMLP, TinyTransformer, train_model
from .geometry import collapse_cosines, corr, geometry_metrics, proxy_quality, sim, sim_corr, ufm_reference
from .nuclear_path import genie_bound, nuclear_regularization_path, nuclear_regularized_logits
from .ufm import train_ufm

__all__ = [
    "NTPData",
    "ce_loss",
    "ce_decomposition",
    "log_softmax",
    "restricted_ce_loss",
    "random_supports",
    "random_ntp_data",
    "symmetric_supports",
    "gaussian_embeddings",
    "count_entropy_range",
    "dirichlet_expected_entropy",
    "load_text",
    "tokenize",
    "encode",
    "context_length_statistics",
    "cover_probability",
    "data_subspace",
    "is_compatible",
    "is_separable",
    "logodds_solution",
    "ntp_margin",
    "lemma1_witnesses",
    "lifted_points",
    "separability_phase_transition",
    "ntp_svm",
    "implicit_bias_reference",
    "alignment",
    "train_linear",
    "train_logits",
    "ridge_solution",
    "regularization_path",
    "genie_excess",
    "log_schedule",
    "cpu_threads",
    "small_problem_threads",
    "centered_support",
    "logits_in",
    "project_logits_F",
    "project_logits_F_perp",
    "ntp_svm_logits",
    "certificate",
    "mm_embeddings",
    "symmetric_geometry",
    "measure_symmetric_geometry",
    "corr",
    "sim",
    "nuclear_regularized_logits",
    "nuclear_regularization_path",
    "genie_bound",
    "ufm_reference",
    "train_ufm",
    "geometry_metrics",
    "proxy_quality",
    "sim_corr",
    "collapse_cosines",
    "LanguageData",
    "pairs_data",
    "stream_contexts",
    "line_contexts",
    "text_contexts",
    "resample_counts",
    "synthetic_sentences",
    "simplified_language",
    "TinyTransformer",
    "ContextMLP",
    "ContextLSTM",
    "train_model",
    "plotting",
    "glue",
    "table",
    "build_environment",
    "ntp_svm_norm",
    "margin_references",
    "margin_metrics",
    "matrix_norm",
    "SteepestDescent",
    "SignDescent",
    "Muon",
    "ScheduledAdam",
    "newton_schulz",
    "optimizer",
    "train_minibatch",
]
__version__ = "0.2.0"
