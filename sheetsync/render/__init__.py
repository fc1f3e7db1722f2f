"""Turning core results into things people read: the email digest and its charts."""
