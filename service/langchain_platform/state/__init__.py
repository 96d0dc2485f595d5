"""Conversation state: the checkpointer chosen by ``CHECKPOINTER_URL``, the platform's own tables
(thread leases, thread index, webhook runs) and the per-thread run guard."""
