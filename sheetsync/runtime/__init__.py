"""Running sheetsync: a sync and a digest as jobs, the scheduler, delivery, the outbox,
the history database and the project lock.

The runtime wires connectors (data in), the core (arithmetic) and the renderers (output)
together; the CLI is a thin layer over `sheetsync.runtime.jobs`.
"""
