"""``chatcli batch``: bulk requests through the provider's Batch API or a resumable local runner.

``inputs`` builds the JSONL, ``jobs`` moves a job through its states, ``remote`` drives the
Files/Batches API, ``local`` runs requests where there is none, ``results`` writes them out.
"""
