"""Word and character error rates, through jiwer (corpus-level: total edits / total reference length)."""

from model_zoo.errors import InputError
from model_zoo.optional import import_optional


def error_rates(references, hypotheses):
    """`{"cer", "wer", "utterances"}` of hypotheses against references (normalised texts).

    Empty hypotheses count as all-deleted; an empty reference is an error (jiwer cannot score
    it), so normalise and filter transcripts first.
    """
    jiwer = import_optional("jiwer", "train", "Error rates of speech (CER, WER)")

    references, hypotheses = list(references), list(hypotheses)
    if len(references) != len(hypotheses) or not references:
        raise InputError(
            "error_rates needs as many hypotheses as references, and at least one. "
            f"Received: {len(references)} references, {len(hypotheses)} hypotheses"
        )
    if any(not r.strip() for r in references):
        raise InputError("A reference transcript is empty; remove it before scoring. "
                         f"Received: {sum(not r.strip() for r in references)} empty references")
    return {"cer": float(jiwer.cer(references, hypotheses)),
            "wer": float(jiwer.wer(references, hypotheses)),
            "utterances": len(references)}
