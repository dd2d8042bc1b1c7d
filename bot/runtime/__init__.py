"""The runtime room: how messages move through one or many workers without being lost.

durable inbox (core.storage.inbox) -> conversation runner (one turn at a time per
conversation, in arrival order, across workers) -> durable outbox (core.storage.outbox) ->
delivery (retries transient platform failures) -> the bus tells other workers.
"""
