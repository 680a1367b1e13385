"""`claims review`: annotators correct extractions in a web app; their work becomes gold.

store (database, migrations) → importer (documents in) → app (API, pages) → export
(gold, Label Studio, Prodigy) and agreement (annotators vs each other and the model).
"""
