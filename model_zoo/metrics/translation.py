"""Corpus BLEU and chrF with sacreBLEU, reported with their signatures.

The signature (`nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:...`) says exactly how a
score was computed, so that numbers from different papers and runs can be compared honestly.
"""

from model_zoo.errors import InputError
from model_zoo.optional import import_optional


def translation_metrics(hypotheses, references):
    """`{"bleu", "chrf", "bleu_signature", "chrf_signature", "sentences"}` of a corpus.

    Args:
        hypotheses: detokenized system outputs, one string per sentence.
        references: one reference string per sentence.

    Example:
    >>> translation_metrics(["el perro come"], ["el perro come"])["bleu"]
    100.0
    """
    import_optional("sacrebleu", "train", "BLEU and chrF (translation metrics)")
    from sacrebleu.metrics import BLEU, CHRF

    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references) or not hypotheses:
        raise InputError(
            f"BLEU needs one reference per hypothesis, and at least one of each. "
            f"Received: {len(hypotheses)} hypotheses, {len(references)} references"
        )
    bleu, chrf = BLEU(), CHRF()
    bleu_score = bleu.corpus_score(hypotheses, [references])
    chrf_score = chrf.corpus_score(hypotheses, [references])
    return {"bleu": round(float(bleu_score.score), 4), "chrf": round(float(chrf_score.score), 4),
            "bleu_signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature()), "sentences": len(hypotheses)}
