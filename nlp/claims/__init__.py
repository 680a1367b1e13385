"""Claim assembly: figures and entities of a Doc turned into the claims of CLAIMS.md.

`assembler` decides which figures are casualty counts and of what; `roles` finds who
reported them, who caused them and when. The registered component is `claims_assembler`.
"""

from nlp.claims.assembler import ClaimAssembler, ClaimDraft, Mention

__all__ = ["ClaimAssembler", "ClaimDraft", "Mention"]
